"""The STREAM encryption of documents at rest: round trips, and every tampering refused."""

from __future__ import annotations

import base64
import os
from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.documents.crypto import TAG_BYTES, TamperedError, decrypt_stream, encrypt_stream
from portal.keys import KEY_BYTES, new_key_text, parse_key

KEY = bytes(range(KEY_BYTES))
CONTEXT = b"documents/0123456789abcdef0123456789abcdef"
SEGMENT = 64 * 1024
HEADER = 11


class Trickle(BytesIO):
    """A stream that hands out at most a few bytes per read, as a network request body may."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(7, size) if size is not None and size >= 0 else 7)


def seal(plaintext: bytes, segment_size: int = SEGMENT, context: bytes = CONTEXT) -> bytes:
    sink = BytesIO()
    written = encrypt_stream(KEY, context, BytesIO(plaintext), sink, segment_size)
    assert written == len(sink.getvalue())
    return sink.getvalue()


def open_sealed(
    sealed: bytes, segment_size: int = SEGMENT, key: bytes = KEY, context: bytes = CONTEXT
) -> bytes:
    return b"".join(decrypt_stream(key, context, BytesIO(sealed), segment_size))


def segments(sealed: bytes, segment_size: int) -> tuple[bytes, list[bytes]]:
    size = segment_size + TAG_BYTES
    body = sealed[HEADER:]
    return sealed[:HEADER], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize(
    "size",
    [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 5 * SEGMENT, 5 * SEGMENT + 3, 3 * 1024 * 1024],
    ids=[
        "empty",
        "one byte",
        "under a segment",
        "exactly one segment",
        "just over",
        "five",
        "five and a bit",
        "3 MB",
    ],
)
def test_round_trip_returns_the_plaintext(size: int) -> None:
    plaintext = os.urandom(size)
    sealed = seal(plaintext)
    assert open_sealed(sealed) == plaintext
    full_segments = max(1, -(-size // SEGMENT))
    assert len(sealed) == HEADER + size + full_segments * TAG_BYTES


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=600), segment_size=st.integers(min_value=1, max_value=80))
def test_round_trip_for_any_size_and_segment_size(plaintext: bytes, segment_size: int) -> None:
    assert open_sealed(seal(plaintext, segment_size), segment_size) == plaintext


def test_short_reads_from_the_source_do_not_change_the_segments() -> None:
    plaintext = os.urandom(3 * 100 + 5)
    sink = BytesIO()
    encrypt_stream(KEY, CONTEXT, Trickle(plaintext), sink, 100)
    sealed = sink.getvalue()
    assert len(sealed) == HEADER + len(plaintext) + 4 * TAG_BYTES
    assert b"".join(decrypt_stream(KEY, CONTEXT, Trickle(sealed), 100)) == plaintext


def test_decryption_yields_one_segment_at_a_time() -> None:
    plaintext = os.urandom(3 * SEGMENT + 10)
    chunks = list(decrypt_stream(KEY, CONTEXT, BytesIO(seal(plaintext))))
    assert [len(chunk) for chunk in chunks] == [SEGMENT, SEGMENT, SEGMENT, 10]


def test_the_same_plaintext_never_seals_the_same_way_twice() -> None:
    assert seal(b"passport") != seal(b"passport")


def test_the_plaintext_does_not_appear_in_the_sealed_bytes() -> None:
    plaintext = b"PASSPORT NUMBER 123456789 " * 100
    assert b"PASSPORT" not in seal(plaintext)


def test_wrong_key_is_refused() -> None:
    with pytest.raises(TamperedError):
        open_sealed(seal(b"identity"), key=bytes(KEY_BYTES))


def test_swapped_context_is_refused() -> None:
    with pytest.raises(TamperedError):
        open_sealed(seal(b"identity"), context=b"documents/ffffffffffffffffffffffffffffffff")


@pytest.mark.parametrize("position", [0, 4, HEADER, HEADER + 5, -1])
def test_a_flipped_byte_anywhere_is_refused(position: int) -> None:
    sealed = bytearray(seal(os.urandom(300), 100))
    sealed[position] ^= 0x01
    with pytest.raises(TamperedError):
        open_sealed(bytes(sealed), 100)


@pytest.mark.parametrize("cut", [1, TAG_BYTES, 50])
def test_a_truncated_file_is_refused(cut: int) -> None:
    sealed = seal(os.urandom(350), 100)
    with pytest.raises(TamperedError):
        open_sealed(sealed[:-cut], 100)


def test_a_file_cut_at_a_segment_boundary_is_refused() -> None:
    header, parts = segments(seal(os.urandom(350), 100), 100)
    with pytest.raises(TamperedError):
        open_sealed(header + b"".join(parts[:-1]), 100)


def test_a_file_with_only_its_header_is_refused() -> None:
    header, _ = segments(seal(b"", 100), 100)
    with pytest.raises(TamperedError):
        open_sealed(header, 100)


def test_dropping_the_final_segment_of_an_exact_multiple_is_refused() -> None:
    header, parts = segments(seal(os.urandom(300), 100), 100)
    assert len(parts) == 3
    with pytest.raises(TamperedError):
        open_sealed(header + parts[0] + parts[1], 100)


def test_dropping_a_middle_segment_is_refused() -> None:
    header, parts = segments(seal(os.urandom(350), 100), 100)
    with pytest.raises(TamperedError):
        open_sealed(header + parts[0] + parts[2] + parts[3], 100)


def test_reordered_segments_are_refused() -> None:
    header, parts = segments(seal(os.urandom(350), 100), 100)
    with pytest.raises(TamperedError):
        open_sealed(header + parts[1] + parts[0] + parts[2] + parts[3], 100)


# Named ids: xdist's workers each collect the tests, and random bytes in an id differ between them.
@pytest.mark.parametrize(
    "extra",
    [b"\x00", os.urandom(TAG_BYTES), os.urandom(116)],
    ids=["a-zero-byte", "a-tag-of-random-bytes", "116-random-bytes"],
)
def test_appended_bytes_are_refused(extra: bytes) -> None:
    for plaintext in (b"", os.urandom(300), os.urandom(350)):
        with pytest.raises(TamperedError):
            open_sealed(seal(plaintext, 100) + extra, 100)


def test_segments_from_another_file_under_the_same_key_are_refused() -> None:
    header_a, parts_a = segments(seal(os.urandom(350), 100), 100)
    _, parts_b = segments(seal(os.urandom(350), 100), 100)
    with pytest.raises(TamperedError):
        open_sealed(header_a + parts_a[0] + parts_b[1] + parts_a[2] + parts_a[3], 100)


def test_a_file_that_is_not_encrypted_is_refused() -> None:
    with pytest.raises(TamperedError):
        open_sealed(b"%PDF-1.7 plain text that was never encrypted")


def test_a_wrong_segment_size_is_refused() -> None:
    with pytest.raises(TamperedError):
        open_sealed(seal(os.urandom(350), 100), 64)


def test_tampering_is_only_reported_when_reached_but_is_always_reported() -> None:
    sealed = bytearray(seal(os.urandom(3 * 100), 100))
    sealed[-1] ^= 0x01
    chunks = decrypt_stream(KEY, CONTEXT, BytesIO(bytes(sealed)), 100)
    assert len(next(chunks)) == 100
    with pytest.raises(TamperedError):
        list(chunks)


def test_a_key_of_the_wrong_length_cannot_encrypt() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_stream(bytes(16), CONTEXT, BytesIO(b"x"), BytesIO())


def test_new_key_text_parses_back_to_32_random_bytes() -> None:
    first, second = new_key_text(), new_key_text()
    assert first != second
    assert len(parse_key(first)) == KEY_BYTES


def test_parse_key_accepts_the_key_with_or_without_padding_and_whitespace() -> None:
    raw = os.urandom(KEY_BYTES)
    text = base64.urlsafe_b64encode(raw).decode()
    assert parse_key(text) == raw
    assert parse_key(text.rstrip("=")) == raw
    assert parse_key(f"  {text}\n") == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        base64.urlsafe_b64encode(os.urandom(16)).decode(),
        base64.urlsafe_b64encode(os.urandom(33)).decode(),
        base64.b64encode(b"\xfb" * KEY_BYTES).decode(),
        base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()[:-3] + "!!=",
        "A" * 42 + "B",
        "0123456789abcdef0123456789abcdef",
        bytes(KEY_BYTES).hex(),
    ],
    ids=[
        "empty",
        "blank",
        "16 bytes",
        "33 bytes",
        "standard alphabet",
        "bad character",
        "non canonical",
        "raw text",
        "hex",
    ],
)
def test_parse_key_rejects_anything_but_32_bytes_of_urlsafe_base64(text: str) -> None:
    with pytest.raises(ValueError, match="flask --app portal documents-key"):
        parse_key(text)


def test_parse_key_does_not_echo_the_secret() -> None:
    text = "not-a-key-but-maybe-a-secret"
    with pytest.raises(ValueError) as caught:
        parse_key(text)
    assert text not in str(caught.value)
