"""Where document bytes live: encrypted files on local disk, or a private S3 bucket.

Both backends stream in chunks, so memory stays a small multiple of a chunk whatever the file
size, and both name objects only by random keys from new_key(): nothing an applicant types ever
becomes part of a path or an object name.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from portal.documents import crypto
from portal.keys import KEY_BYTES

PREFIX = "documents/"
CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"documents/([0-9a-f]{2})([0-9a-f]{30})")
_SHARD = re.compile(r"[0-9a-f]{2}")
_FILE = re.compile(r"([0-9a-f]{30})\.bin")
# What put() writes before its rename; a crash between the two leaves one behind.
_TEMPORARY = re.compile(r"\..+\.tmp")
_TEMPORARY_PREFIX = "."
_TEMPORARY_SUFFIX = ".tmp"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# For the readiness check: one try, two seconds to connect and two to answer.
PROBE = Config(
    connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1, "mode": "standard"}
)


class StorageError(Exception):
    """The backend failed after its own bounded retries: the caller reports it, never hangs on it."""


class Storage(Protocol):
    """What the rest of the portal may ask of a document store, whichever backend holds the bytes."""

    def put(self, key: str, source: BinaryIO) -> None: ...

    def open(self, key: str) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def keys(self, older_than: datetime) -> Iterator[str]: ...

    def remove_abandoned(self, older_than: datetime) -> int:
        """Remove what interrupted writes left that is older than the cut-off; returns how many."""
        ...

    def reachable(self) -> bool:
        """Whether documents could be stored now (for the readiness check)."""
        ...


def new_key() -> str:
    """A random object key: unguessable, and never derived from anything a user sent."""
    return PREFIX + secrets.token_hex(16)


class LocalStorage:
    """Files encrypted with the portal's document key, for development and single-host installs."""

    def __init__(self, root: Path, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the document key must be {KEY_BYTES} bytes")
        self._root = root
        self._key = key
        _private_dir(root)

    def put(self, key: str, source: BinaryIO) -> None:
        path = self._path(key)
        try:
            _private_dir(path.parent)
            # A reader sees the old file or the new one, never half of one: write aside, then rename.
            fd, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=_TEMPORARY_PREFIX, suffix=_TEMPORARY_SUFFIX
            )
            try:
                with os.fdopen(fd, "wb") as sink:
                    crypto.encrypt_stream(self._key, key.encode(), source, sink)
                    sink.flush()
                    os.fsync(sink.fileno())
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                raise
            _sync_dir(path.parent)
        except OSError as exc:
            raise StorageError(f"could not store {key}") from exc

    def open(self, key: str) -> Iterator[bytes]:
        """Stream the plaintext; a tampered file raises crypto.TamperedError while streaming."""
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageError(f"could not read {key}") from exc
        chunks = crypto.decrypt_stream(self._key, key.encode(), handle)
        return _Chunks(_local_errors(chunks, key), handle.close)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"could not delete {key}") from exc

    def keys(self, older_than: datetime) -> Iterator[str]:
        cutoff = _aware(older_than).timestamp()
        try:
            shards = sorted(p for p in self._root.iterdir() if _SHARD.fullmatch(p.name))
            for shard in shards:
                for path in sorted(shard.iterdir()):
                    match = _FILE.fullmatch(path.name)
                    if match and path.stat().st_mtime < cutoff:
                        yield f"{PREFIX}{shard.name}{match.group(1)}"
        except OSError as exc:
            raise StorageError("could not list stored documents") from exc

    def remove_abandoned(self, older_than: datetime) -> int:
        """Delete temporary files that a put() killed mid-write (a crash, an OOM kill) left.

        put() removes its own on any error it lives through; only a dead process leaves one, and
        it holds a whole encrypted document. Younger files may still be being written.
        """
        cutoff = _aware(older_than).timestamp()
        removed = 0
        try:
            for shard in sorted(p for p in self._root.iterdir() if _SHARD.fullmatch(p.name)):
                for path in sorted(shard.iterdir()):
                    if _TEMPORARY.fullmatch(path.name) and path.stat().st_mtime < cutoff:
                        path.unlink(missing_ok=True)
                        removed += 1
        except OSError as exc:
            raise StorageError("could not remove abandoned temporary files") from exc
        return removed

    def reachable(self) -> bool:
        return self._root.is_dir() and os.access(self._root, os.W_OK | os.X_OK)

    def _path(self, key: str) -> Path:
        match = _KEY.fullmatch(key)
        if not match:
            raise ValueError("not a document key")
        return self._root / match.group(1) / f"{match.group(2)}.bin"


class S3Storage:
    """A private bucket with server-side encryption; the client retries a bounded number of times."""

    def __init__(
        self,
        *,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        sse: str = "aws:kms",
        kms_key_id: str | None = None,
        client: Any | None = None,
    ) -> None:
        self._bucket = bucket
        self._sse = sse
        self._kms_key_id = kms_key_id

        def make_client(config: Config) -> Any:
            return boto3.session.Session().client(
                "s3", region_name=region, endpoint_url=endpoint_url, config=config
            )

        self._client = client or make_client(
            Config(
                retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30
            )
        )
        # The readiness check asks with a short fuse and no retry: a hung S3 gives a 503 in
        # seconds instead of holding the check past the load balancer's timeout.
        self._probe_client = client or make_client(PROBE)
        # Browsers post to the bucket's regional name: boto3 signs POST forms for the global
        # s3.amazonaws.com, which a new bucket outside us-east-1 answers with a 307 to the regional
        # name for its first hours, and the pages' CSP would stop the form following it.
        self._presign_client = client or (
            make_client(Config(s3={"addressing_style": "virtual"}))
            if endpoint_url is None
            else self._client
        )
        self._extra_args = {"ServerSideEncryption": sse, "ContentType": "application/octet-stream"}
        if kms_key_id:
            self._extra_args["SSEKMSKeyId"] = kms_key_id
        # Documents are at most a few parts: two threads per upload bound memory and threads alike.
        self._transfer = TransferConfig(max_concurrency=2)

    def presigned_post(
        self, key: str, *, redirect: str | None, max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        """The URL and fields of a browser's form POST that may write this one key and nothing else.

        Signed here, without a request to AWS. The object is inert (application/octet-stream, the
        type the portal stores everything as), encrypted as the portal's own objects are, and S3
        answers a stored one by redirecting the browser to `redirect`, which the policy fixes too
        (None: with a 201, for a script that reads the answer and goes on by itself).
        """
        fields = {
            "Content-Type": "application/octet-stream",
            "x-amz-server-side-encryption": self._sse,
        }
        if redirect is None:
            fields["success_action_status"] = "201"
        else:
            fields["success_action_redirect"] = redirect
        if self._kms_key_id:
            fields["x-amz-server-side-encryption-aws-kms-key-id"] = self._kms_key_id
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 0, max_bytes])
        post = self._presign_client.generate_presigned_post(
            self._bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return post["url"], post["fields"]

    def put(self, key: str, source: BinaryIO) -> None:
        try:
            self._client.upload_fileobj(
                source, self._bucket, key, ExtraArgs=self._extra_args, Config=self._transfer
            )
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise StorageError(f"could not store {key}") from exc

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from None
            raise StorageError(f"could not read {key}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not read {key}") from exc
        return _Chunks(_s3_errors(body.iter_chunks(CHUNK_BYTES), key), body.close)

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not delete {key}") from exc

    def reachable(self) -> bool:
        try:
            self._probe_client.head_bucket(Bucket=self._bucket)
        except (ClientError, BotoCoreError):
            return False
        return True

    def keys(self, older_than: datetime) -> Iterator[str]:
        cutoff = _aware(older_than)
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=PREFIX):
                for item in page.get("Contents", []):
                    if item["LastModified"] < cutoff:
                        yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not list stored documents") from exc

    def remove_abandoned(self, older_than: datetime) -> int:
        """Nothing to do here: S3 never shows a half-written object, and the parts of a multipart
        upload cut short are aborted by the bucket's lifecycle rule (infra/cloudformation.yaml)."""
        _aware(older_than)
        return 0


class _Chunks(Iterator[bytes]):
    """Chunks that let go of their file or connection when closed, even if never read.

    A WSGI server calls close() on the body it was given; a bare generator that never started
    would ignore that and hold the file open until garbage collection.
    """

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release = release

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        self._release()


def _local_errors(chunks: Iterator[bytes], key: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except OSError as exc:
        raise StorageError(f"could not read {key}") from exc


def _s3_errors(chunks: Iterator[bytes], key: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"could not read {key}") from exc


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _sync_dir(path: Path) -> None:
    """Make the rename itself survive a power cut, not only the file's bytes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("older_than must be timezone-aware (UTC)")
    return moment.astimezone(UTC)
