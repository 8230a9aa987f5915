# The EOI portal. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
# `make test`'s PostgreSQL half; each xdist worker tests in a database of its own beside it
# (`test_gw0`, ...). A worktree points it at its own: make test PG_TEST_URL=.../wt_name
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# pytest-xdist workers per half; 0 runs each half in one process. Two, one per core of this
# machine, with the halves one after the other: both halves at once with two workers each timed out
# in the browser tests' set-up (Chromium and the servers starting for four workers at once).
# `worksteal` lets a worker that runs out take tests queued for the other, so the slow browser
# tests do not leave one worker running alone at the end. PYTEST_ARGS go to both halves.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
PYTEST := $(BIN)/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist worksteal) $(PYTEST_ARGS)
LOCALES := en fr ar fa prs ps ckb ku ti am vi so
# checkov in a virtualenv of its own: it pins boto3 1.35 and would replace the portal's pinned boto3.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/bin/checkov

.PHONY: help run test screenshots lint format assets translations translations-extract translations-update install \
	page-weight lighthouse bench

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

run: install assets translations ## Install, build, migrate SQLite, load demo data and serve on HOST:PORT
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install assets translations lint $(CHECKOV) ## Lint, then the whole test suite on SQLite and on PostgreSQL
	PORTAL_CHECKOV=$(CHECKOV) PORTAL_TEST_DATABASE_URL= $(PYTEST)
	PORTAL_CHECKOV=$(CHECKOV) PORTAL_TEST_DATABASE_URL=$(PG_TEST_URL) $(PYTEST)

screenshots: install assets translations ## Photograph every page of the language tour, for readers of each language: test-output/screenshots/<locale>/
	PORTAL_TOUR_SCREENSHOTS=1 $(BIN)/pytest tests/browser/test_every_locale.py

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

lint: install ## ruff lint and format check, the import contracts (pyproject.toml) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

assets: static/dist/manifest.json ## Build GOV.UK Frontend and the portal's CSS/JS into static/dist

static/dist/manifest.json: node_modules/.installed static/build.mjs $(wildcard static/src/*)
	npm run --silent build

translations: install ## Compile the gettext catalogs
	$(BIN)/pybabel compile -d translations

translations-extract: install ## Extract every translatable string into translations/messages.pot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o translations/messages.pot portal templates

translations-update: translations-extract ## Merge new strings into every catalog (needs GNU gettext's msginit)
	mkdir -p translations/en/LC_MESSAGES
	msginit --no-translator --no-wrap --locale=en -i translations/messages.pot -o translations/en/LC_MESSAGES/messages.po
	for locale in $(filter-out en,$(LOCALES)); do \
		if [ -f translations/$$locale/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i translations/messages.pot -d translations -l $$locale --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(BIN)/pybabel init -i translations/messages.pot -d translations -l $$locale; \
		fi; \
	done

bench: install assets translations ## Every benchmark in one run: page weight, upload bytes, load test, server time against its floor, queue, bookings and messages (PostgreSQL)
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/upload_bytes.py
	$(BIN)/python bench/load_test.py
	$(BIN)/python bench/floor.py
	$(BIN)/python bench/queue_throughput.py
	$(BIN)/python bench/booking_throughput.py
	$(BIN)/python bench/messages_throughput.py

page-weight: install assets translations ## Bytes per page of the applicant's journey, against stock GOV.UK Frontend
	$(BIN)/python bench/page_weight.py $(PAGE_WEIGHT_ARGS)

# Lighthouse 13 needs Node >= 22.19; 12.8.2 is the newest that runs on Node 20. Run through npx,
# not a devDependency: it would add ~180 MB and 170 packages to every `npm ci` (the image's too),
# and a dependency of its own asks for `latest` versions, which breaks `npm ci` once they move.
LIGHTHOUSE := npx --yes lighthouse@12.8.2
LIGHTHOUSE_PORT ?= 5077
LIGHTHOUSE_PAGES ?= /en/ /en/eligibility/in_france

lighthouse: install assets translations ## Lighthouse (mobile) scores of the start page and a form page, on a throwaway demo instance
	@set -euo pipefail; \
	instance=$$(mktemp -d); \
	export PORTAL_INSTANCE_PATH=$$instance DATABASE_URL=sqlite:///$$instance/portal.sqlite3 \
		PORTAL_LOG_LEVEL=WARNING PORTAL_BASE_URL=http://$(HOST):$(LIGHTHOUSE_PORT); \
	$(FLASK) init-db >/dev/null; \
	$(FLASK) seed-demo >/dev/null; \
	$(FLASK) run --host $(HOST) --port $(LIGHTHOUSE_PORT) >$$instance/server.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; rm -rf $$instance' EXIT; \
	for _ in $$(seq 50); do curl -fs -o /dev/null http://$(HOST):$(LIGHTHOUSE_PORT)/livez 2>/dev/null && break; sleep 0.2; done; \
	printf '%-32s %11s %13s %14s %12s\n' page performance accessibility best-practices "bytes (LH)"; \
	for path in $(LIGHTHOUSE_PAGES); do \
		CHROME_PATH=/usr/bin/chromium $(LIGHTHOUSE) http://$(HOST):$(LIGHTHOUSE_PORT)$$path \
			--quiet --form-factor=mobile --only-categories=performance,accessibility,best-practices \
			--chrome-flags="--headless=new --no-sandbox" --output=json --output-path=$$instance/report.json; \
		$(BIN)/python -c 'import json, sys; r = json.load(open(sys.argv[1])); c = r["categories"]; \
			print("%-32s %11.0f %13.0f %14.0f %12.0f" % (sys.argv[2], *((c[k]["score"] or 0) * 100 \
			for k in ("performance", "accessibility", "best-practices")), \
			r["audits"]["total-byte-weight"]["numericValue"]))' $$instance/report.json $$path; \
	done
