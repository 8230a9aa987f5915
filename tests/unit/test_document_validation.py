"""Uploaded files: judged by their bytes, stored only as a clean re-encoding, refused with a reason."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import tempfile
import unicodedata
import warnings
import zipfile
import zlib

import pikepdf
import pillow_heif
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from portal.documents.validation import (
    CHUNK_SIZE,
    Cleaned,
    Limits,
    Reason,
    Rejected,
    clean,
    detect,
    sanitise_name,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def jpeg(size=(320, 240), color=(200, 30, 30), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def noise(size=(400, 300)) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3))


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def jpeg_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def png(image: Image.Image | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    (image or Image.new("RGB", (64, 48), "green")).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def heic(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=60, **options)
    return buffer.getvalue()


def png_with_text(value: str) -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", value)
    return png(pnginfo=text)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims a huge greyscale image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + png_chunk(b"IEND", b"")
    )


def pdf(pages: int = 1, build=None, **save_options) -> bytes:
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page()
    if build is not None:
        build(document)
    buffer = io.BytesIO()
    document.save(buffer, **save_options)
    return buffer.getvalue()


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shell.php", "<?= 1 ?>")
    return buffer.getvalue()


def run(data: bytes, name: str = "photo.jpg", limits: Limits | None = None) -> Cleaned:
    return clean(io.BytesIO(data), name, limits or Limits())


def refusal(data: bytes, name: str = "photo.jpg", limits: Limits | None = None) -> Reason:
    with pytest.raises(Rejected) as caught:
        run(data, name, limits)
    return caught.value.reason


def stored(cleaned: Cleaned) -> Image.Image:
    image = Image.open(io.BytesIO(cleaned.content.read()))
    cleaned.content.seek(0)
    return image


class Unreadable(io.BytesIO):
    """A stream whose content must not be read: only its size may be asked."""

    def read(self, *args):
        raise AssertionError("content was read")


# Images accepted and re-encoded


def test_a_clean_jpeg_is_re_encoded_and_described():
    original = jpeg()
    cleaned = run(original)
    content = cleaned.content.read()
    assert isinstance(cleaned.content, tempfile.SpooledTemporaryFile)
    assert content[:3] == b"\xff\xd8\xff"
    assert content != original
    assert cleaned.size == len(content)
    assert cleaned.sha256 == hashlib.sha256(content).hexdigest()
    assert (cleaned.content_type, cleaned.extension, cleaned.detected_type) == (
        "image/jpeg",
        "jpg",
        "jpeg",
    )
    assert (cleaned.width, cleaned.height, cleaned.pages) == (320, 240, None)


def test_the_clean_content_is_ready_to_read_from_the_start():
    cleaned = run(jpeg())
    assert cleaned.content.tell() == 0


def test_gps_position_is_removed_from_a_jpeg():
    original = jpeg(exif=exif_with_gps())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)

    image = stored(run(original))
    assert not image.getexif().get_ifd(GPS_IFD)
    assert not image.getexif()
    assert "exif" not in image.info


SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="48,51N"/></x:xmpmeta>'
)


@pytest.mark.parametrize(
    ("data", "name", "key"),
    [
        pytest.param(jpeg(comment=b"Porte de la Chapelle"), "a.jpg", "comment", id="jpeg-comment"),
        pytest.param(jpeg(xmp=XMP), "a.jpg", "xmp", id="jpeg-xmp"),
        pytest.param(jpeg(icc_profile=SRGB_PROFILE), "a.jpg", "icc_profile", id="jpeg-icc"),
        pytest.param(
            png(Image.new("L", (32, 32)), icc_profile=SRGB_PROFILE),
            "a.png",
            "icc_profile",
            id="png-icc",
        ),
        pytest.param(png_with_text("Porte de la Chapelle"), "a.png", "Comment", id="png-text"),
    ],
)
def test_no_metadata_of_the_original_is_kept(data, name, key):
    assert key in Image.open(io.BytesIO(data)).info
    content = run(data, name).content.read()
    assert not Image.open(io.BytesIO(content)).info.keys() & {key, "exif", "xmp", "icc_profile"}
    assert b"Chapelle" not in content
    assert b"xmpmeta" not in content


def test_exif_orientation_is_applied_then_dropped():
    # Stored sideways, as phones do: a red corner top-left, to be shown rotated a quarter clockwise.
    sideways = Image.new("RGB", (300, 200), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 60, 60))
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", exif=exif_with_gps(orientation=6), quality=95)

    cleaned = run(buffer.getvalue())
    image = stored(cleaned)
    assert (cleaned.width, cleaned.height) == (200, 300) == image.size
    red, _, blue = image.convert("RGB").getpixel((190, 10))
    assert red > 200 and blue < 60
    assert ORIENTATION not in image.getexif()


def test_heic_from_a_phone_becomes_a_jpeg_without_its_gps():
    original = heic(Image.new("RGB", (320, 240), "orange"), exif=exif_with_gps().tobytes())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)

    cleaned = run(original, "IMG_0042.HEIC")
    image = stored(cleaned)
    assert (cleaned.detected_type, cleaned.content_type, cleaned.extension) == (
        "heif",
        "image/jpeg",
        "jpg",
    )
    assert image.format == "JPEG"
    assert image.size == (320, 240)
    assert not image.getexif()


def test_png_with_transparency_stays_a_png_and_keeps_its_alpha():
    picture = Image.new("RGBA", (64, 48), (10, 120, 10, 255))
    picture.putpixel((0, 0), (0, 0, 0, 0))
    picture.putpixel((1, 0), (200, 0, 0, 128))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "Taken at Porte de la Chapelle")

    cleaned = run(png(picture, pnginfo=text, exif=exif_with_gps()), "scan.png")
    image = stored(cleaned)
    assert (cleaned.content_type, cleaned.extension, cleaned.detected_type) == (
        "image/png",
        "png",
        "png",
    )
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((1, 0))[3] == 128
    assert not getattr(image, "text", {})
    assert not image.getexif()


def test_a_palette_png_with_transparency_keeps_it():
    picture = Image.new("P", (32, 32), 1)
    picture.putpalette([0, 0, 0, 255, 0, 0])
    picture.putpixel((0, 0), 0)
    image = stored(run(png(picture, transparency=0), "map.png"))
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0
    assert image.convert("RGBA").getpixel((5, 5)) == (255, 0, 0, 255)


def test_a_large_photo_is_downscaled_to_the_longest_side():
    cleaned = run(jpeg(size=(4000, 3000)), limits=Limits(max_side=1000))
    assert (cleaned.width, cleaned.height) == (1000, 750)
    assert stored(cleaned).size == (1000, 750)


def test_a_large_png_is_downscaled_too():
    cleaned = run(png(Image.new("RGB", (3000, 1000), "white")), "a.png", Limits(max_side=600))
    assert (cleaned.width, cleaned.height) == (600, 200)


def test_a_thumbnail_fits_the_thumbnail_side():
    cleaned = run(jpeg(size=(1200, 800)))
    thumbnail = Image.open(io.BytesIO(cleaned.thumbnail))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) <= Limits().thumbnail_side


@pytest.mark.parametrize(
    "trailer",
    [
        pytest.param(b"\x00" * 64 + b"end of camera data", id="padding"),
        pytest.param(
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + random.Random(1).randbytes(4096),
            id="motion-photo-video",
        ),
        pytest.param(b"SEFH\x00\x00\x00\x01Image_UTC_Data1700000000000SEFT", id="samsung"),
    ],
)
def test_harmless_trailing_data_from_phones_is_accepted_and_dropped(trailer):
    cleaned = run(jpeg() + trailer)
    assert trailer not in cleaned.content.read()


@pytest.mark.parametrize("name", ["photo", "Scan 01.03.2024", "PHOTO.JPG", "x.jpeg", "y.jfif"])
def test_names_that_agree_with_a_jpeg_are_accepted(name):
    assert run(jpeg(), name).detected_type == "jpeg"


# Type and name


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (jpeg(), "jpeg"),
        (png(), "png"),
        (heic(Image.new("RGB", (16, 16))), "heif"),
        (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix", "heif"),
        (pdf(), "pdf"),
        (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif", None),
        (b"GIF89a" + b"\x00" * 32, None),
        (b"<html><body>hello</body></html>", None),
        (b"MZ" + b"\x00" * 256, None),
        (zip_archive(), None),
        (b"", None),
    ],
)
def test_detect_names_only_the_types_we_accept(head, expected):
    assert detect(head[:8192]) == expected


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.jpg", Reason.UNSUPPORTED_TYPE),
        (b"MZ" + b"\x00" * 1024, "photo.jpg", Reason.UNSUPPORTED_TYPE),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "a.png", Reason.UNSUPPORTED_TYPE),
        (b"GIF89a" + b"\x00" * 64, "a.gif", Reason.UNSUPPORTED_TYPE),
        (pdf(), "scan.jpg", Reason.NAME_MISMATCH),
        (jpeg(), "photo.png", Reason.NAME_MISMATCH),
        (png(), "photo.heic", Reason.NAME_MISMATCH),
        (jpeg(), "photo.exe", Reason.NAME_MISMATCH),
        (jpeg(), "photo.php.jpg", Reason.NAME_MISMATCH),
        (jpeg(), "photo.PHP5.jpeg", Reason.NAME_MISMATCH),
        (pdf(), "invoice.exe.pdf", Reason.NAME_MISMATCH),
        (jpeg(), "a\x00.jpg", Reason.BAD_NAME),
        (jpeg(), "../", Reason.BAD_NAME),
    ],
)
def test_a_file_is_judged_by_its_bytes_and_its_name_must_agree(data, name, reason):
    assert refusal(data, name) == reason


# Polyglots


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(jpeg() + b"<script>alert(1)</script>", "a.jpg", id="script-after-jpeg"),
        pytest.param(jpeg() + zip_archive(), "a.jpg", id="zip-after-jpeg"),
        pytest.param(jpeg() + b"<SVG onload=alert(1)>", "a.jpg", id="svg-after-jpeg"),
        pytest.param(jpeg() + pdf(), "a.jpg", id="pdf-after-jpeg"),
        pytest.param(png() + b"<svg/onload=alert(1)>", "a.png", id="svg-after-png"),
        pytest.param(jpeg(comment=b"<?php system($_GET['c']); ?>"), "a.jpg", id="php-in-jpeg"),
        pytest.param(png_with_text("<html><body>x</body></html>"), "a.png", id="html-in-png"),
        pytest.param(
            heic(Image.new("RGB", (32, 32))) + b"<svg onload=alert(1)>",
            "a.heic",
            id="svg-after-heic",
        ),
    ],
)
def test_an_image_hiding_code_or_another_file_is_refused(data, name):
    assert refusal(data, name) == Reason.HIDDEN_CONTENT


def test_a_marker_split_across_two_reads_is_still_found():
    image = jpeg()
    padding = b"\x00" * (CHUNK_SIZE - len(image) - 3)
    data = image + padding + b"<?php echo 1; ?>"
    assert data.index(b"<?php") < CHUNK_SIZE < data.index(b"<?php") + 5
    assert refusal(data, limits=Limits(max_bytes=4 * CHUNK_SIZE)) == Reason.HIDDEN_CONTENT


def test_a_png_with_harmless_trailing_bytes_is_accepted():
    assert run(png() + b"\x00" * 16 + b"trailer", "a.png").detected_type == "png"


def test_a_heic_with_harmless_trailing_bytes_is_accepted():
    assert run(heic(Image.new("RGB", (32, 32))) + b"\x00" * 64, "a.heic").detected_type == "heif"


# Pixel floods and damaged images


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded: a flood must be refused from its header."""

    def load(self):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_pixel_flood_is_refused_from_its_header(no_decoding):
    flood = png_declaring(20_000, 20_000)
    assert len(flood) < 1024
    assert refusal(flood, "flood.png") == Reason.TOO_MANY_PIXELS


def test_an_image_over_our_pixel_limit_is_refused_before_decoding(no_decoding):
    limits = Limits(max_pixels=1_000_000)
    assert refusal(png_declaring(1001, 1000), "big.png", limits) == Reason.TOO_MANY_PIXELS


def test_pillow_bomb_warning_raised_as_an_error_becomes_a_refusal(no_decoding):
    # 100 MP is above Pillow's own warning threshold but below its hard error.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert refusal(png_declaring(10_000, 10_000), "big.png") == Reason.TOO_MANY_PIXELS


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(half(jpeg_of(noise())), "a.jpg", id="truncated-jpeg"),
        pytest.param(jpeg()[:20], "a.jpg", id="jpeg-header-only"),
        pytest.param(half(png(noise())), "a.png", id="truncated-png"),
        pytest.param(half(heic(noise())), "a.heic", id="truncated-heic"),
    ],
)
def test_a_damaged_image_is_refused(data, name):
    assert refusal(data, name) == Reason.DAMAGED_IMAGE


# PDFs


def test_a_clean_pdf_is_rewritten_with_its_page_count():
    cleaned = run(pdf(pages=3), "scan.pdf")
    content = cleaned.content.read()
    assert (cleaned.content_type, cleaned.extension, cleaned.detected_type) == (
        "application/pdf",
        "pdf",
        "pdf",
    )
    assert (cleaned.pages, cleaned.width, cleaned.height, cleaned.thumbnail) == (
        3,
        None,
        None,
        None,
    )
    assert cleaned.size == len(content)
    assert cleaned.sha256 == hashlib.sha256(content).hexdigest()
    assert len(pikepdf.open(io.BytesIO(content)).pages) == 3


def test_data_appended_to_a_pdf_and_its_metadata_are_dropped():
    def author(document):
        document.docinfo["/Author"] = "Someone Hiding"

    content = run(pdf(build=author) + b"<html>appended</html>", "scan.pdf").content.read()
    assert b"appended" not in content
    assert b"Someone Hiding" not in content


@pytest.mark.parametrize(
    "encryption",
    [
        pytest.param(pikepdf.Encryption(owner="o", user=""), id="empty-user-password"),
        pytest.param(pikepdf.Encryption(owner="o", user="u"), id="user-password"),
    ],
)
def test_an_encrypted_pdf_is_refused(encryption):
    assert refusal(pdf(encryption=encryption), "scan.pdf") == Reason.PDF_PASSWORD


def open_action_javascript(document):
    document.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )


def indirect_javascript(document):
    action = document.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    document.pages[0].obj.AA = pikepdf.Dictionary(O=action)


def attachment(document):
    document.attachments["notes.txt"] = pikepdf.AttachedFileSpec(document, b"hello")


def launch_link(document):
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 100, 100],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")),
    )
    document.pages[0].obj.Annots = document.make_indirect(pikepdf.Array([link]))


def javascript_names(document):
    document.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array()))


def xfa_form(document):
    document.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), XFA=pikepdf.Array())


def rich_media(document):
    annotation = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia, Rect=[0, 0, 10, 10]
    )
    document.pages[0].obj.Annots = pikepdf.Array([annotation])


@pytest.mark.parametrize(
    "build",
    [
        open_action_javascript,
        indirect_javascript,
        attachment,
        launch_link,
        javascript_names,
        xfa_form,
        rich_media,
    ],
)
def test_a_pdf_with_scripts_actions_or_attachments_is_refused(build):
    assert refusal(pdf(build=build), "scan.pdf") == Reason.PDF_ACTIVE_CONTENT


def written_pdf(catalog_extra: bytes) -> bytes:
    """A PDF written by hand, for names that pikepdf would not let us build."""
    return (
        b"%PDF-1.7\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >> endobj\n"
        b"trailer << /Root 1 0 R /Size 4 >>\n%%EOF\n"
    )


def test_an_escaped_javascript_name_is_still_found():
    data = written_pdf(b"/OpenAction << /S /Java#53cript /J#53 (app.alert(1)) >>")
    assert refusal(data, "scan.pdf") == Reason.PDF_ACTIVE_CONTENT


def test_names_that_are_not_utf8_do_not_break_the_check():
    assert run(written_pdf(b"/F#E91 /Times#E9 /Sub << /K#FF 1 >>"), "scan.pdf").pages == 1


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n garbage", id="garbage"),
        pytest.param(pdf()[:60], id="truncated"),
    ],
)
def test_a_broken_pdf_is_refused(data):
    assert refusal(data, "scan.pdf") == Reason.PDF_DAMAGED


def test_a_pdf_with_too_many_pages_is_refused():
    limits = Limits(pdf_max_pages=2)
    assert run(pdf(pages=2), "scan.pdf", limits).pages == 2
    assert refusal(pdf(pages=3), "scan.pdf", limits) == Reason.PDF_TOO_MANY_PAGES


# Size


def test_an_empty_file_is_refused_without_reading_it():
    assert refusal(b"") == Reason.EMPTY
    with pytest.raises(Rejected) as caught:
        clean(Unreadable(b""), "photo.jpg", Limits())
    assert caught.value.reason == Reason.EMPTY


def test_a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused():
    image = jpeg()
    limits = Limits(max_bytes=len(image))
    assert run(image, limits=limits).detected_type == "jpeg"
    assert refusal(image + b"\x00", limits=limits) == Reason.TOO_LARGE


def test_a_file_too_large_is_refused_before_its_content_is_read():
    with pytest.raises(Rejected) as caught:
        clean(Unreadable(b"x" * 101), "photo.jpg", Limits(max_bytes=100))
    assert caught.value.reason == Reason.TOO_LARGE


def test_the_stream_position_left_by_a_virus_scan_does_not_matter():
    stream = io.BytesIO(jpeg())
    stream.seek(0, io.SEEK_END)
    assert clean(stream, "photo.jpg", Limits()).detected_type == "jpeg"


# Names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\x\\y.png", "y.png"),
        ("\u202egpj.exe", "gpj.exe"),
        ("x\u2066y\u2069\u200f.jpg", "xy.jpg"),
        ("photo\x07\x1b.jpg", "photo.jpg"),
        ("  ..hidden.png  ", "hidden.png"),
        ("my \t\n  passport.jpg", "my passport.jpg"),
        ("جواز سفر.jpg", "جواز سفر.jpg"),
        ("ፓስፖርት.pdf", "ፓስፖርት.pdf"),
        ("هوية\u200cشخصية.png", "هوية\u200cشخصية.png"),
        (unicodedata.normalize("NFD", "Hộ chiếu Nguyễn.jpg"), "Hộ chiếu Nguyễn.jpg"),
    ],
)
def test_sanitise_name(raw, expected):
    assert sanitise_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["a\x00.jpg", "", "   ", "...", "uploads/", "C:\\x\\", "\u202e\x01"]
)
def test_a_name_with_nothing_usable_is_refused(raw):
    with pytest.raises(Rejected) as caught:
        sanitise_name(raw)
    assert caught.value.reason == Reason.BAD_NAME


def test_a_long_name_is_capped_keeping_its_extension():
    name = sanitise_name("ا" * 300 + ".jpeg")
    assert len(name) == 120
    assert name.endswith("ا.jpeg")
    assert len(sanitise_name("b" * 300)) == 120


awkward_characters = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(categories=["Cs"]),
    st.sampled_from(["/", "\\", ".", " ", "\x00", "\t", "\u202e", "\u2066", "\u200f"]),
)


@given(st.text(awkward_characters, max_size=300))
def test_sanitised_names_never_carry_paths_controls_or_bidi(raw):
    try:
        name = sanitise_name(raw)
    except Rejected as exc:
        assert exc.reason == Reason.BAD_NAME
        return
    assert 0 < len(name) <= 120
    assert "/" not in name
    assert "\\" not in name
    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in name)
    assert not BIDI_CONTROLS & set(name)
    assert name == name.strip()
    assert not name.startswith(".")
