"""A real moto server on loopback, so AWS code is tested over HTTP as it runs in production.

Import the fixture where it is needed: `from tests.moto_server import moto_server  # noqa: F401`.
The server lives for the whole run; call reset_moto() between tests that must not see each
other's buckets or queues.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-2"


def fake_aws_environment(home: Path) -> dict[str, str]:
    """Credentials that can reach nothing real, and no config or metadata service to fall back on."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto server that runs for the whole session."""
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in fake_aws_environment(home).items():
            patch.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def reset_moto(endpoint: str) -> None:
    """Forget every bucket, object and queue the server holds."""
    url = urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.request("POST", "/moto-api/reset")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, f"moto reset answered {response.status}"
    finally:
        connection.close()


def closed_port_url() -> str:
    """An endpoint on loopback where nothing listens, to test what happens when AWS is unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
