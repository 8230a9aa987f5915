"""Both document backends: encrypted local files, and S3 through a real moto server on loopback."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import boto3
import pytest

from portal.documents.crypto import TamperedError
from portal.documents.storage import LocalStorage, S3Storage, StorageError, new_key
from portal.keys import KEY_BYTES
from tests.moto_server import REGION, closed_port_url, moto_server, reset_moto  # noqa: F401

KEY = os.urandom(KEY_BYTES)
BUCKET = "eoi-documents-test"
MB = 1024 * 1024


def read_all(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


def digest_of(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def age(path: Path, hours: float) -> None:
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "documents", KEY)


def test_new_keys_are_random_and_carry_nothing_else() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"documents/[0-9a-f]{32}", key) for key in keys)


# Local backend


def test_local_round_trip(local: LocalStorage) -> None:
    key = new_key()
    plaintext = os.urandom(200 * 1024 + 7)
    local.put(key, BytesIO(plaintext))
    assert read_all(local.open(key)) == plaintext


def test_local_put_replaces_an_existing_file(local: LocalStorage) -> None:
    key = new_key()
    local.put(key, BytesIO(b"first"))
    local.put(key, BytesIO(b"second"))
    assert read_all(local.open(key)) == b"second"


def test_local_file_is_named_by_the_key_and_holds_no_plaintext(
    local: LocalStorage, tmp_path: Path
) -> None:
    key = new_key()
    plaintext = b"PASSPORT P<GBRDOE<<JANE<<<<<<<<<<<<<< " * 50
    local.put(key, BytesIO(plaintext))
    hex_part = key.removeprefix("documents/")
    files = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert files == [tmp_path / "documents" / hex_part[:2] / f"{hex_part[2:]}.bin"]
    stored = files[0].read_bytes()
    assert b"PASSPORT" not in stored
    assert stored.startswith(b"EOI1")


def test_local_files_are_private_to_the_portal(local: LocalStorage, tmp_path: Path) -> None:
    key = new_key()
    local.put(key, BytesIO(b"identity"))
    (path,) = [p for p in (tmp_path / "documents").rglob("*.bin")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "documents").stat().st_mode) == 0o700


def test_local_root_with_loose_permissions_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    LocalStorage(root, KEY)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "documents/../../../etc/passwd",
        "documents/0123456789abcdef0123456789abcde/",
        "documents/0123456789ABCDEF0123456789ABCDEF",
        "documents/0123456789abcdef0123456789abcdef/../x",
        "/documents/0123456789abcdef0123456789abcdef",
        "documents/0123456789abcdef0123456789abcdef\n",
        "passport.jpg",
        "",
    ],
)
def test_local_refuses_any_key_it_did_not_make(local: LocalStorage, key: str) -> None:
    with pytest.raises(ValueError, match="not a document key"):
        local.put(key, BytesIO(b"x"))
    with pytest.raises(ValueError, match="not a document key"):
        local.open(key)
    with pytest.raises(ValueError, match="not a document key"):
        local.delete(key)


def test_local_open_of_a_missing_key_raises_key_error(local: LocalStorage) -> None:
    with pytest.raises(KeyError):
        local.open(new_key())


def test_local_delete_is_idempotent(local: LocalStorage) -> None:
    key = new_key()
    local.put(key, BytesIO(b"identity"))
    local.delete(key)
    local.delete(key)
    local.delete(new_key())
    with pytest.raises(KeyError):
        local.open(key)


def test_local_keys_lists_only_files_older_than_the_cut_off(
    local: LocalStorage, tmp_path: Path
) -> None:
    old, recent = new_key(), new_key()
    local.put(old, BytesIO(b"old"))
    local.put(recent, BytesIO(b"recent"))
    hex_part = old.removeprefix("documents/")
    age(tmp_path / "documents" / hex_part[:2] / f"{hex_part[2:]}.bin", hours=3)
    (tmp_path / "documents" / "ab").mkdir(exist_ok=True)
    (tmp_path / "documents" / "ab" / ".leftover.tmp").write_bytes(b"")
    (tmp_path / "documents" / "notes.txt").write_text("not a document")

    cut_off = datetime.now(UTC) - timedelta(hours=1)
    assert list(local.keys(cut_off)) == [old]
    assert sorted(local.keys(datetime.now(UTC) + timedelta(minutes=1))) == sorted([old, recent])


def test_local_keys_refuses_a_naive_cut_off(local: LocalStorage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(local.keys(datetime.now()))


def test_local_file_cannot_be_passed_off_as_another(local: LocalStorage, tmp_path: Path) -> None:
    mine, theirs = new_key(), new_key()
    local.put(mine, BytesIO(b"my passport"))
    local.put(theirs, BytesIO(b"their passport"))
    mine_hex, theirs_hex = mine.removeprefix("documents/"), theirs.removeprefix("documents/")
    mine_path = tmp_path / "documents" / mine_hex[:2] / f"{mine_hex[2:]}.bin"
    theirs_path = tmp_path / "documents" / theirs_hex[:2] / f"{theirs_hex[2:]}.bin"
    os.replace(theirs_path, mine_path)
    with pytest.raises(TamperedError):
        read_all(local.open(mine))


def test_local_file_under_another_key_is_unreadable(tmp_path: Path) -> None:
    key = new_key()
    LocalStorage(tmp_path / "documents", KEY).put(key, BytesIO(b"identity"))
    other = LocalStorage(tmp_path / "documents", os.urandom(KEY_BYTES))
    with pytest.raises(TamperedError):
        read_all(other.open(key))


def test_local_open_releases_the_file_when_closed_unread(local: LocalStorage) -> None:
    key = new_key()
    local.put(key, BytesIO(b"identity"))
    chunks = local.open(key)
    before = len(os.listdir("/proc/self/fd"))
    chunks.close()  # type: ignore[attr-defined]
    assert len(os.listdir("/proc/self/fd")) == before - 1


def test_local_failed_put_leaves_no_file_behind(local: LocalStorage, tmp_path: Path) -> None:
    class Broken(BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("the upload was cut off")

    key = new_key()
    with pytest.raises(StorageError):
        local.put(key, Broken())
    assert [p for p in (tmp_path / "documents").rglob("*") if p.is_file()] == []
    with pytest.raises(KeyError):
        local.open(key)


def test_local_ten_megabytes_stream_in_little_memory(local: LocalStorage) -> None:
    key = new_key()
    plaintext = os.urandom(10 * MB)
    expected = hashlib.sha256(plaintext).hexdigest()
    source = BytesIO(plaintext)
    tracemalloc.start()
    try:
        local.put(key, source)
        digest, size = digest_of(local.open(key))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (digest, size) == (expected, 10 * MB)
    assert peak < 3 * MB


# S3 backend


@pytest.fixture
def s3_client(moto_server: str):  # noqa: F811 - the fixture imported above
    reset_moto(moto_server)
    client = boto3.session.Session().client("s3", region_name=REGION, endpoint_url=moto_server)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture
def s3(s3_client, moto_server: str) -> S3Storage:  # noqa: F811
    return S3Storage(bucket=BUCKET, region=REGION, endpoint_url=moto_server, sse="AES256")


def test_s3_round_trip_of_a_multipart_upload(s3: S3Storage, s3_client) -> None:
    key = new_key()
    plaintext = os.urandom(12 * MB)
    s3.put(key, BytesIO(plaintext))
    head = s3_client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == 12 * MB
    assert head["ContentType"] == "application/octet-stream"
    # A multipart object's ETag ends with the number of its parts.
    assert re.search(r"-\d+\"?$", head["ETag"])
    chunks = list(s3.open(key))
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert b"".join(chunks) == plaintext


def test_s3_object_is_stored_with_server_side_encryption(s3: S3Storage, s3_client) -> None:
    key = new_key()
    s3.put(key, BytesIO(b"identity"))
    assert s3_client.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_s3_kms_encryption_names_the_given_key(s3_client, moto_server: str) -> None:  # noqa: F811
    kms = boto3.session.Session().client("kms", region_name=REGION, endpoint_url=moto_server)
    kms_key = kms.create_key(Description="documents")["KeyMetadata"]["KeyId"]
    storage = S3Storage(bucket=BUCKET, region=REGION, endpoint_url=moto_server, kms_key_id=kms_key)
    key = new_key()
    storage.put(key, BytesIO(b"identity"))
    head = s3_client.head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert kms_key in head["SSEKMSKeyId"]
    assert read_all(storage.open(key)) == b"identity"


def test_s3_open_of_a_missing_key_raises_key_error(s3: S3Storage) -> None:
    with pytest.raises(KeyError):
        s3.open(new_key())


def test_s3_delete_is_idempotent(s3: S3Storage) -> None:
    key = new_key()
    s3.put(key, BytesIO(b"identity"))
    s3.delete(key)
    s3.delete(key)
    with pytest.raises(KeyError):
        s3.open(key)


def test_s3_keys_lists_only_documents_older_than_the_cut_off(s3: S3Storage, s3_client) -> None:
    first, second = new_key(), new_key()
    s3.put(first, BytesIO(b"first"))
    s3.put(second, BytesIO(b"second"))
    s3_client.put_object(Bucket=BUCKET, Key="elsewhere/readme.txt", Body=b"not a document")
    modified = {
        key: s3_client.head_object(Bucket=BUCKET, Key=key)["LastModified"]
        for key in (first, second)
    }
    assert sorted(s3.keys(datetime.now(UTC) + timedelta(minutes=1))) == sorted([first, second])
    assert list(s3.keys(min(modified.values()) - timedelta(seconds=1))) == []
    assert list(s3.keys(datetime.now(UTC) - timedelta(hours=1))) == []


def test_s3_missing_bucket_is_a_storage_error(moto_server: str, s3_client) -> None:  # noqa: F811
    storage = S3Storage(bucket="no-such-bucket", region=REGION, endpoint_url=moto_server)
    with pytest.raises(StorageError) as caught:
        storage.put(new_key(), BytesIO(b"identity"))
    assert caught.value.__cause__ is not None
    with pytest.raises(StorageError):
        storage.open(new_key())
    with pytest.raises(StorageError):
        list(storage.keys(datetime.now(UTC)))


def test_s3_unreachable_endpoint_fails_fast_with_a_storage_error(moto_server: str) -> None:  # noqa: F811
    # The moto fixture is here for its fake credentials: without them boto3 would fail before connecting.
    storage = S3Storage(bucket=BUCKET, region=REGION, endpoint_url=closed_port_url())
    started = time.monotonic()
    for attempt in (
        lambda: storage.put(new_key(), BytesIO(b"identity")),
        lambda: storage.open(new_key()),
        lambda: storage.delete(new_key()),
        lambda: list(storage.keys(datetime.now(UTC))),
    ):
        with pytest.raises(StorageError) as caught:
            attempt()
        assert caught.value.__cause__ is not None
    assert time.monotonic() - started < 30


def test_local_remove_abandoned_deletes_only_old_temporary_files(
    local: LocalStorage, tmp_path: Path
) -> None:
    kept = new_key()
    local.put(kept, BytesIO(b"a stored document"))
    shard = tmp_path / "documents" / "ab"
    shard.mkdir(exist_ok=True)
    old, young = shard / ".old0a1b.tmp", shard / ".young0a1b.tmp"
    old.write_bytes(b"ciphertext of a whole document")
    young.write_bytes(b"still being written")
    age(old, hours=3)
    kept_hex = kept.removeprefix("documents/")
    age(tmp_path / "documents" / kept_hex[:2] / f"{kept_hex[2:]}.bin", hours=3)

    assert local.remove_abandoned(datetime.now(UTC) - timedelta(hours=1)) == 1
    assert not old.exists() and young.exists()
    assert read_all(local.open(kept)) == b"a stored document"
    with pytest.raises(ValueError, match="timezone-aware"):
        local.remove_abandoned(datetime.now())
