"""Encryption at rest for documents kept on local disk, streamed so a file never sits whole in memory.

AES-GCM alone seals one message held in memory, so files are cut into segments with the STREAM
construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015; as in age and Tink). Each segment's
nonce carries its position and whether it is the last, so dropping, reordering or truncating
segments fails authentication. The object key is the associated data, so one stored file cannot
be passed off as another.

Layout: b"EOI1" + a 7-byte random nonce prefix, then segments of `segment_size` plaintext bytes
plus a 16-byte tag; the final segment is shorter or, for an empty file only, empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.keys import KEY_BYTES

MAGIC = b"EOI1"
PREFIX_BYTES = 7
TAG_BYTES = 16
DEFAULT_SEGMENT_SIZE = 64 * 1024
_LAST_COUNTER = 2**32 - 1


class TamperedError(Exception):
    """The stored bytes are not what this key sealed for this context: never serve them."""


def encrypt_stream(
    key: bytes,
    context: bytes,
    source: BinaryIO,
    sink: BinaryIO,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> int:
    """Seal `source` into `sink` one segment at a time; return the number of bytes written."""
    aead = _aead(key, segment_size)
    prefix = secrets.token_bytes(PREFIX_BYTES)
    written = sink.write(MAGIC + prefix)
    counter = 0
    segment = _read_exactly(source, segment_size)
    while True:
        # One segment of look-ahead is how the writer knows which segment is the last.
        following = _read_exactly(source, segment_size) if len(segment) == segment_size else b""
        last = not following
        written += sink.write(aead.encrypt(_nonce(prefix, counter, last), segment, context))
        if last:
            return written
        counter = _next(counter)
        segment = following


def decrypt_stream(
    key: bytes,
    context: bytes,
    source: BinaryIO,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> Iterator[bytes]:
    """Yield the plaintext segment by segment, raising TamperedError as soon as anything is off.

    A caller that has already passed earlier segments on must treat TamperedError as fatal for
    the whole file: what came before was authentic, but the file as a whole is not.
    """
    aead = _aead(key, segment_size)
    header = _read_exactly(source, len(MAGIC) + PREFIX_BYTES)
    if len(header) < len(MAGIC) + PREFIX_BYTES or not header.startswith(MAGIC):
        raise TamperedError("not an encrypted document")
    prefix = header[len(MAGIC) :]
    sealed_size = segment_size + TAG_BYTES
    counter = 0
    sealed = _read_exactly(source, sealed_size)
    if not sealed:
        raise TamperedError("the document is truncated")
    while True:
        following = _read_exactly(source, sealed_size) if len(sealed) == sealed_size else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, counter, last), sealed, context)
        except InvalidTag:
            raise TamperedError("the document failed authentication") from None
        if last:
            return
        counter = _next(counter)
        sealed = following


def _aead(key: bytes, segment_size: int) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"the document key must be {KEY_BYTES} bytes")
    if segment_size <= 0:
        raise ValueError("segment_size must be positive")
    return AESGCM(key)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _next(counter: int) -> int:
    if counter == _LAST_COUNTER:
        # A reused nonce would break GCM entirely; 2**32 segments is far beyond any document.
        raise ValueError("the stream is too long to encrypt")
    return counter + 1


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    """Read `size` bytes unless the stream ends first: request streams may return short reads."""
    first = source.read(size)
    if len(first) == size or not first:
        return first
    parts = [first]
    remaining = size - len(first)
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
