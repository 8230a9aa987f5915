"""The portal storing its documents in a bucket of the moto server (tests/moto_server.py), for the
tests of the document journeys on S3. Each test module names its own bucket, so a failure says
whose objects were left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from flask import Flask

from portal import create_app
from portal.config import PortalConfig
from portal.extensions import db
from tests.moto_server import REGION, reset_moto


def store_on_s3(config: PortalConfig, endpoint: str, bucket: str) -> Any:
    """Point `config` at `bucket` (made afresh, after a moto reset) on the server at `endpoint`,
    encrypted at rest by S3 as in production; return an S3 client to look in the bucket. Needs no
    app context, so the browser tests call it in Playwright's thread."""
    reset_moto(endpoint)
    client = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    config.DOCUMENT_STORAGE = "s3"
    config.S3_BUCKET = bucket
    config.S3_ENDPOINT_URL = endpoint
    config.S3_SSE = "AES256"
    return client


@contextmanager
def portal_on_s3(config: PortalConfig, endpoint: str, bucket: str) -> Iterator[tuple[Flask, Any]]:
    """A portal storing its documents as `store_on_s3` sets, and the S3 client."""
    client = store_on_s3(config, endpoint, bucket)
    application = create_app(config)
    yield application, client
    with application.app_context():
        db.engine.dispose()
