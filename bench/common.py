"""What the benches share: a PostgreSQL database of their own, and threads started together."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import create_engine, text

from portal.extensions import db

SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _run_on_server(statement: str) -> None:
    engine = create_engine(f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))
    engine.dispose()


def fresh_database(name: str) -> str:
    """An empty database for one bench (never the tests' `test`), returned as a URL."""
    _run_on_server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _run_on_server(f"CREATE DATABASE {name}")
    return f"{SERVER}/{name}"


def drop_database(name: str) -> None:
    _run_on_server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_threads(app: Flask, count: int, work: Callable[[int], None]) -> float:
    """Start `count` threads together and time them from the barrier to the last one's end, so
    that connecting and loading are not counted."""
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                work(index)
                db.session.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started
