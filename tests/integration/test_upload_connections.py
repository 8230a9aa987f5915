"""A phone's slow upload holds a gunicorn thread while its bytes arrive, but no database
connection: the CSRF check reads the whole body before the request's first query. The pools in
docs/capacity.md (6 connections for 8 threads per process) count on it."""

from __future__ import annotations

import io

from sqlalchemy import event

from portal.extensions import db
from tests.apply_helpers import photo_bytes, start_application
from tests.helpers import csrf_token


class _Watched(io.RawIOBase):
    """The request body, noting when its last byte has been read."""

    def __init__(self, inner: io.BufferedIOBase, length: int, events: list[str]) -> None:
        self.inner, self.left, self.events = inner, length, events

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.left -= len(data)
        if self.left <= 0 and "body read" not in self.events:
            self.events.append("body read")
        return len(data)


def test_an_upload_is_read_whole_before_it_takes_a_database_connection(app, client):
    start_application(client, app)
    page = client.get("/en/application/documents/other/add")
    events: list[str] = []
    with app.app_context():
        event.listen(db.engine, "checkout", lambda *args: events.append("checkout"))
    wsgi = app.wsgi_app

    def watching(environ, start_response):
        length = int(environ["CONTENT_LENGTH"])
        environ["wsgi.input"] = io.BufferedReader(_Watched(environ["wsgi.input"], length, events))
        return wsgi(environ, start_response)

    app.wsgi_app = watching
    response = client.post(
        "/en/application/documents/other/add",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (io.BytesIO(photo_bytes((800, 600))), "photo.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert events[0] == "body read", events
    assert "checkout" in events
