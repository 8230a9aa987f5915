"""Who a rate limit counts against."""

from flask import request


def client_address() -> str:
    """The client's address as the WSGI server saw it (ProxyFix corrects it behind a proxy)."""
    return request.remote_addr or "unknown"
