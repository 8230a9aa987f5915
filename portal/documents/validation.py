"""Decide whether an uploaded file may be kept, and make the clean copy that is stored instead.

Files come from cheap phones and from people who may be targeted, so a file is judged by its
bytes (never its name or the browser's Content-Type), and what is stored is a fresh re-encoding:
no EXIF (a GPS position can tell where someone sleeps), no trailing data, no scripts. Nothing of a
refused file is kept.
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from math import ceil
from typing import BinaryIO, cast

import filetype
import pikepdf
import pillow_heif
from PIL import Image, ImageCms, ImageOps

pillow_heif.register_heif_opener()


class Reason(enum.StrEnum):
    """Why a file is refused; the web layer maps each to a translated message."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    BAD_NAME = "bad_name"
    NAME_MISMATCH = "name_mismatch"
    HIDDEN_CONTENT = "hidden_content"
    TOO_MANY_PIXELS = "too_many_pixels"
    DAMAGED_IMAGE = "damaged_image"
    PDF_PASSWORD = "pdf_password"  # noqa: S105 (a reason, not a password)
    PDF_DAMAGED = "pdf_damaged"
    PDF_ACTIVE_CONTENT = "pdf_active_content"
    PDF_TOO_MANY_PAGES = "pdf_too_many_pages"


class Rejected(Exception):
    """A file that must not be kept; `reason` says which rule refused it."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 2000
    pdf_max_pages: int = 20
    thumbnail_side: int = 160
    jpeg_quality: int = 85


@dataclass
class Cleaned:
    """The clean copy to store, and what was learnt about the original."""

    content: BinaryIO
    content_type: str
    extension: str
    size: int
    sha256: str
    detected_type: str
    width: int | None
    height: int | None
    pages: int | None
    thumbnail: bytes | None


MAX_NAME_LENGTH = 120
CHUNK_SIZE = 1024 * 1024
SPOOL_SIZE = 1024 * 1024
HEAD_SIZE = 8192

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# A suffix counts as an extension only if it looks like one: "Scan 01.03.2024" or an Arabic word
# after a dot is part of the name, not a file type.
_EXTENSION = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,10}")
_FAMILIES = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jfif": "jpeg",
    "png": "png",
    "heic": "heif",
    "heif": "heif",
    "pdf": "pdf",
}
# Inner extensions that make a server or a person treat the file as code: x.php.jpg, x.exe.pdf.
_RISKY_EXTENSIONS = frozenset(
    {
        *("php", "php3", "php4", "php5", "php7", "php8", "pht", "phtml", "phar", "cgi", "py", "sh"),
        *("html", "htm", "xhtml", "shtml", "svg", "svgz", "js", "mjs", "jsp", "jspx", "asp"),
        *("aspx", "exe", "dll", "bat", "cmd", "scr", "msi", "ps1", "vbs", "vbe", "wsf", "hta"),
        *("jar", "swf", "lnk", "apk"),
    }
)
# filetype's names for the types we accept. An animated PNG is still a PNG; only its first frame
# is kept.
_DETECTED = {"jpg": "jpeg", "png": "png", "apng": "png", "heic": "heif", "pdf": "pdf"}
# HEVC brands that filetype 1.2 does not know (10-bit and burst HEIC from some phones).
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})

_ANYWHERE_MARKERS = (b"<script", b"<?php", b"<html")
_ANYWHERE_BINARY_MARKERS = (b"%PDF-",)
_TRAILER_MARKERS = (b"<html", b"<script", b"<?php", b"<svg")
_TRAILER_BINARY_MARKERS = (b"%PDF-", b"PK\x03\x04")
_END_MARKERS = {"jpeg": b"\xff\xd9", "png": b"IEND"}
# IEND is followed by its 4-byte CRC, which is still part of the image.
_END_MARKER_TAIL = {"jpeg": 0, "png": 4}
_OVERLAP = 16

_PDF_ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/FileAttachment",
        "/RichMedia",
        "/XFA",
    }
)
_PDF_ACTIVE_TOKENS = frozenset(name.encode() for name in _PDF_ACTIVE_NAMES)

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "heif": "HEIF"}
# HEIF is stored as JPEG: every browser a caseworker uses can show it.
_OUTPUTS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "heif": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def sanitise_name(raw: str) -> str:
    """A file name safe to show and store, keeping letters of every script people write in."""
    if "\x00" in raw:
        raise Rejected(Reason.BAD_NAME)
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        char
        for char in name
        if char not in _BIDI_CONTROLS and unicodedata.category(char) not in ("Cc", "Cs")
    )
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and _EXTENSION.fullmatch(extension):
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH].rstrip()
    if not name:
        raise Rejected(Reason.BAD_NAME)
    return name


def detect(head: bytes) -> str | None:
    """What the first bytes say the file is: "jpeg", "png", "heif", "pdf", or None."""
    kind = filetype.guess(head)
    if kind is not None:
        return _DETECTED.get(kind.extension)
    return "heif" if _is_hevc_heif(head) else None


def clean(source: BinaryIO, name: str, limits: Limits) -> Cleaned:
    """The clean copy of an upload, or Rejected with the first rule it breaks."""
    size = source.seek(0, os.SEEK_END)
    if size == 0:
        raise Rejected(Reason.EMPTY)
    if size > limits.max_bytes:
        raise Rejected(Reason.TOO_LARGE)
    safe_name = sanitise_name(name)
    source.seek(0)
    kind = detect(source.read(HEAD_SIZE))
    if kind is None:
        raise Rejected(Reason.UNSUPPORTED_TYPE)
    _check_name(safe_name, kind)
    if kind == "pdf":
        return _clean_pdf(source, limits)
    _check_hidden_content(source, kind, size)
    return _clean_image(source, kind, limits)


def _is_hevc_heif(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    return bool(brands & _HEVC_BRANDS)


def _check_name(name: str, kind: str) -> None:
    parts = [part.strip().lower() for part in name.split(".")]
    extension = parts[-1] if len(parts) > 1 and _EXTENSION.fullmatch(parts[-1]) else None
    if extension is not None and _FAMILIES.get(extension) != kind:
        raise Rejected(Reason.NAME_MISMATCH)
    inner = parts[1:-1] if extension is not None else parts[1:]
    if any(part in _RISKY_EXTENSIONS for part in inner):
        raise Rejected(Reason.NAME_MISMATCH)


def _windows(source: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The stream in 1 MiB pieces, each starting with the end of the one before."""
    source.seek(0)
    offset = 0
    carry = b""
    while chunk := source.read(CHUNK_SIZE):
        yield offset - len(carry), carry + chunk
        carry = chunk[-_OVERLAP:]
        offset += len(chunk)


def _check_hidden_content(source: BinaryIO, kind: str, size: int) -> None:
    """Refuse an image that is also a web page, a script, a PDF or an archive.

    Markers after the image's end are refused; other trailing data (motion-photo videos,
    vendor trailers) is allowed because phones write it, and the re-encoding drops it anyway.
    """
    end_marker = _END_MARKERS.get(kind)
    last_end = -1
    last_marker = -1
    for start, window in _windows(source):
        lowered = window.lower()
        # Exact case anywhere (a chance match in 10 MB of compressed pixels is then about one in
        # 40,000 files); any case after the image's end, where nothing random should be.
        if any(m in window for m in (*_ANYWHERE_MARKERS, *_ANYWHERE_BINARY_MARKERS)):
            raise Rejected(Reason.HIDDEN_CONTENT)
        found = [lowered.rfind(m) for m in _TRAILER_MARKERS]
        found += [window.rfind(m) for m in _TRAILER_BINARY_MARKERS]
        if max(found) >= 0:
            last_marker = max(last_marker, start + max(found))
        if end_marker is not None and (position := window.rfind(end_marker)) >= 0:
            last_end = max(last_end, start + position + len(end_marker) + _END_MARKER_TAIL[kind])
    image_end = _heif_end(source, size) if kind == "heif" else last_end
    if image_end < 0:
        image_end = size
    if last_marker >= image_end:
        raise Rejected(Reason.HIDDEN_CONTENT)


def _heif_end(source: BinaryIO, size: int) -> int:
    """Where the last well-formed top-level box ends: anything after it is appended."""
    position = 0
    while position + 8 <= size:
        source.seek(position)
        header = source.read(16)
        box_size = int.from_bytes(header[:4], "big")
        if box_size == 0:
            return size
        if box_size == 1 and len(header) == 16:
            box_size = int.from_bytes(header[8:16], "big")
        if box_size < 8 or position + box_size > size or not header[4:8].isalnum():
            break
        position += box_size
    return position


def _clean_image(source: BinaryIO, kind: str, limits: Limits) -> Cleaned:
    image = _decode(source, kind, limits)
    if kind == "png":
        # Before resizing: a palette image would otherwise be resized without smoothing.
        image = _png_mode(image)
    image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    image = _to_srgb(image)
    output_format, content_type, extension = _OUTPUTS[kind]
    options: dict[str, object] = {}
    if output_format == "JPEG":
        image = _flatten(image)
        options = {"quality": limits.jpeg_quality, "optimize": True}
    # Nothing of the original's metadata (EXIF, XMP, ICC, comments, text chunks) may follow.
    image.info = {}
    # Encoded straight into the spooled file: no second in-memory copy of the output.
    spooled = _spool_file()
    image.save(spooled, format=output_format, **options)
    content = _finish(spooled)
    return Cleaned(
        content=content.file,
        content_type=content_type,
        extension=extension,
        size=content.size,
        sha256=content.sha256,
        detected_type=kind,
        width=image.width,
        height=image.height,
        pages=None,
        thumbnail=_thumbnail(image, limits),
    )


def _decode(source: BinaryIO, kind: str, limits: Limits) -> Image.Image:
    """The image, upright, decoded no larger than needed; too many pixels refused from the header."""
    source.seek(0)
    try:
        image = Image.open(source, formats=[_PIL_FORMATS[kind]])
        width, height = image.size
        if width * height > limits.max_pixels:
            raise Rejected(Reason.TOO_MANY_PIXELS)
        longest = max(width, height)
        if kind == "jpeg" and longest > limits.max_side:
            # Decode at 1/2, 1/4 or 1/8 scale so a 48 MP photo never needs 150 MB.
            scale = limits.max_side / longest
            image.draft(None, (ceil(width * scale), ceil(height * scale)))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected(Reason.TOO_MANY_PIXELS) from exc
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise Rejected(Reason.DAMAGED_IMAGE) from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Bake the colour profile into the pixels, since the stored copy carries none.

    iPhone photos are in Display P3: dropping the profile alone would shift the colours of a face.
    """
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, profile, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG, with transparent areas white rather than black."""
    if not _has_alpha(image):
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _png_mode(image: Image.Image) -> Image.Image:
    """A mode PNG stores without help from the info dictionary, keeping transparency."""
    if image.mode in ("1", "L", "LA", "RGB", "RGBA", "I;16") and "transparency" not in image.info:
        return image
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _thumbnail(image: Image.Image, limits: Limits) -> bytes:
    side = limits.thumbnail_side
    small = _flatten(ImageOps.contain(image, (side, side), Image.Resampling.LANCZOS))
    encoded = io.BytesIO()
    small.save(encoded, format="JPEG", quality=80)
    return encoded.getvalue()


def _clean_pdf(source: BinaryIO, limits: Limits) -> Cleaned:
    source.seek(0)
    try:
        with pikepdf.open(source) as pdf:
            if pdf.is_encrypted:
                raise Rejected(Reason.PDF_PASSWORD)
            if _has_active_content(pdf):
                raise Rejected(Reason.PDF_ACTIVE_CONTENT)
            pages = len(pdf.pages)
            if pages == 0:
                raise Rejected(Reason.PDF_DAMAGED)
            if pages > limits.pdf_max_pages:
                raise Rejected(Reason.PDF_TOO_MANY_PAGES)
            # Author, software and XMP metadata say nothing a caseworker needs.
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            if "/Metadata" in pdf.Root:
                del pdf.Root["/Metadata"]
            encoded = _spool_file()
            try:
                # qpdf writes the document anew: appended data and unused objects are dropped.
                pdf.save(encoded)  # type: ignore[arg-type]  # a SpooledTemporaryFile is a binary file
            except BaseException:
                encoded.close()
                raise
    except pikepdf.PasswordError as exc:
        raise Rejected(Reason.PDF_PASSWORD) from exc
    except pikepdf.PikepdfError as exc:
        raise Rejected(Reason.PDF_DAMAGED) from exc
    content = _finish(encoded)
    return Cleaned(
        content=content.file,
        content_type="application/pdf",
        extension="pdf",
        size=content.size,
        sha256=content.sha256,
        detected_type="pdf",
        width=None,
        height=None,
        pages=pages,
        thumbnail=None,
    )


def _has_active_content(pdf: pikepdf.Pdf) -> bool:
    """Whether any object, however deeply nested, names a script, action or attached file."""
    pending: list[pikepdf.Object] = [pdf.trailer, *pdf.objects]
    while pending:
        item = pending.pop()
        if isinstance(item, pikepdf.Name):
            # As bytes: a name need not be UTF-8, and str() of it would raise.
            if item.unparse() in _PDF_ACTIVE_TOKENS:
                return True
        elif isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
            keys = item.keys()
            if not _PDF_ACTIVE_NAMES.isdisjoint(keys):
                return True
            pending.extend(_nested(item[key] for key in keys))
        elif isinstance(item, pikepdf.Array):
            pending.extend(_nested(item))
    return False


def _nested(values: Iterable[object]) -> list[pikepdf.Object]:
    """The values stored inside their container: indirect objects are walked on their own."""
    return [v for v in values if isinstance(v, pikepdf.Object) and not v.is_indirect]


@dataclass
class _Spooled:
    file: BinaryIO
    size: int
    sha256: str


def _spool_file() -> tempfile.SpooledTemporaryFile[bytes]:
    """Small files stay in memory; the caller stores the content, then closes it."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)


def _finish(file: tempfile.SpooledTemporaryFile[bytes]) -> _Spooled:
    size = file.tell()
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(CHUNK_SIZE):
        digest.update(chunk)
    file.seek(0)
    return _Spooled(file=cast(BinaryIO, file), size=size, sha256=digest.hexdigest())
