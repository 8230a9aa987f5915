#!/usr/bin/env bash
# `make test`'s suite: the same pytest command on SQLite and on PostgreSQL (PG_TEST_URL), both at
# once. Each half writes to a file of its own, shown whole when that half ends (first finished,
# first shown), so their lines never interleave; the script fails if either half fails.
# PYTEST is the command (with its options), e.g. ".venv/bin/pytest -n 2".
set -uo pipefail
: "${PYTEST:?the pytest command}" "${PG_TEST_URL:?the PostgreSQL URL for the tests}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A names=() logs=() started=()

start() {
  local name=$1 url=$2
  # A temporary folder per half (pytest's default, shared by every run of this user, prunes
  # old runs: two runs at once must not prune each other's).
  PORTAL_TEST_DATABASE_URL=$url $PYTEST --basetemp="$work/$name-tmp" >"$work/$name.log" 2>&1 &
  names[$!]=$name
  logs[$!]=$work/$name.log
  started[$!]=$SECONDS
  echo "$name: started (pid $!, output in $work/$name.log)"
}

start sqlite ""
start postgresql "$PG_TEST_URL"

failed=()
while ((${#names[@]})); do
  wait -n -p pid "${!names[@]}"
  status=$?
  name=${names[$pid]}
  echo
  echo "==================== $name: exit $status after $((SECONDS - started[$pid])) s ===================="
  cat "${logs[$pid]}"
  ((status == 0)) || failed+=("$name")
  unset "names[$pid]"
done
echo
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "both halves passed"
