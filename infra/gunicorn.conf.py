"""Gunicorn settings for the portal's container: `gunicorn -c infra/gunicorn.conf.py ...`.

Every value that depends on the machine or the platform comes from the environment, so one image
runs on a laptop, in compose and on ECS. The settings are read once by the master process.
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    """A whole number from the environment: a typo stops the start instead of being ignored."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}") from exc


def _cores() -> int:
    """CPUs this process may run on: the affinity mask honours cpusets, os.cpu_count() does not."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# All interfaces of the container, which is its own network namespace: the load balancer (or the
# port Compose publishes) reaches it there. Plain HTTP: the load balancer terminates TLS. Fixed, not
# from $PORT, because the image's EXPOSE and HEALTHCHECK and the target group all say 8000.
bind = ["0.0.0.0:8000"]

# Processes for CPU (the usual 2 x cores + 1), threads inside each for requests that wait on the
# database, S3, SQS or clamd. Set WEB_CONCURRENCY wherever the CPUs visible here are more than the
# container's share (a cgroup CPU quota is not visible); the ECS task definition always sets it.
workers = _int_env("WEB_CONCURRENCY", 2 * _cores() + 1)
worker_class = "gthread"
# Four threads stay within the default pool (PORTAL_DB_POOL_SIZE 5), so a busy worker never
# queues on its own pool. A thread also waits, using no CPU, while a phone's upload arrives: on ECS
# the template sets eight, with a pool of 4 + 2 per process, since a request holds a connection
# only while it works (docs/capacity.md has the arithmetic).
threads = _int_env("GUNICORN_THREADS", 4)

# Recycle a worker after about ten thousand requests: Pillow, pikepdf and pillow-heif hold on to
# fragmented memory after large uploads. Not sooner: a new worker costs about 1.5 s of CPU
# (imports, the app, compiling templates), which at a thousand requests was a tenth of the
# servers' CPU under load (bench/load_test.py). The jitter keeps workers from restarting together.
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int_env("GUNICORN_MAX_REQUESTS_JITTER", 1000)

# A worker whose main loop is silent this long is killed and replaced. An upload is the longest
# request: a 10 MiB body, image and PDF checks, a clamd scan (30 s limit) and an S3 put.
timeout = _int_env("GUNICORN_TIMEOUT", 60)
# On SIGTERM (a deploy or a scale-in) requests in flight get this long to finish. Keep it below the
# platform's stop timeout (ECS stopTimeout, compose stop_grace_period), or they are cut off anyway.
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the load balancer's idle timeout (60 s on the ALB): if gunicorn closed an idle
# connection first, the ALB could send a request down it and answer the user with a 502.
keepalive = _int_env("GUNICORN_KEEPALIVE", 75)

# No control socket (gunicorn 25.1+ opens one for `gunicornc` under $XDG_RUNTIME_DIR or
# $HOME/.gunicorn): the image's user has no home, the root file system is read-only, and nothing
# here manages gunicorn at run time; ECS and Compose restart it.
control_socket_disable = True

# The app is built in each worker, not in the master: create_app opens database pools and boto3
# clients, whose sockets must not be shared across a fork.
preload_app = False

# The heartbeat file is touched constantly: keep it in memory (/dev/shm) when the container has a
# writable one, so a slow disk cannot stall a worker into a timeout. Otherwise $TMPDIR or /tmp.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108 - tmpfs

# In production the app wraps itself in Werkzeug's ProxyFix (one trusted hop: the load balancer),
# which sets the client address and scheme from X-Forwarded-*. Gunicorn therefore need not trust
# anyone; FORWARDED_ALLOW_IPS is for running without that wrapper behind a proxy (give its address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No gunicorn access log: the app already writes one JSON line per request (logger portal.access)
# with its request id, and a second, differently shaped line per request would only add cost.
accesslog = None
# Gunicorn's own records (boot, worker timeouts and restarts) as JSON lines on stderr, like the
# app's, so that one log query covers both.
_JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
loglevel = os.environ.get("PORTAL_LOG_LEVEL", "INFO").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": _JSON_FORMATTER},
    "handlers": {
        "json_stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        # Any logging config turns gunicorn's access logger on: send it nowhere (see accesslog).
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["json_stderr"]},
    "loggers": {
        "gunicorn.error": {
            "level": loglevel.upper(),
            "handlers": ["json_stderr"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {
            "level": "WARNING",
            "handlers": ["discard"],
            "propagate": False,
            "qualname": "gunicorn.access",
        },
    },
}


# Prometheus: every worker writes its counters to files in one directory that /metrics reads
# (portal.metrics), so the figures add up whichever worker answers the scrape. The master sets the
# directory before it forks the workers (which load the app after the fork), and empties it, since
# values from a previous run would be counted again.
def on_starting(server: object) -> None:
    directory = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR",
        "/dev/shm/portal-metrics" if os.access("/dev/shm", os.W_OK) else "/tmp/portal-metrics",  # noqa: S108
    )
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
