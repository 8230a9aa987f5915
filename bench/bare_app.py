"""The baseline of bench/load_test.py: Flask with one route that returns a short text.

Served by the same gunicorn settings as the portal (infra/gunicorn.conf.py, same workers and
threads) and hit by as many simulated users, it measures what the machine, gunicorn, Flask and the
load generator cost on their own: the portal's journey is then judged as a fraction of this rate,
which stays meaningful on a faster or slower machine.

    gunicorn --config infra/gunicorn.conf.py --bind 127.0.0.1:8001 bench.bare_app:app
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
