"""How much memory one 10 MB upload needs, as a multiple of the file's size.

Each scenario runs in its own process (so peaks do not mix): the process warms up with a small
upload, resets its peak resident size (/proc/self/clear_refs), does the measured work, and reports
how far its peak rose. The baseline, measured in the same run, is reading the file into memory
once: the ratio that matters is a scenario's rise divided by the file's size.

    .venv/bin/python bench/upload_memory.py
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pikepdf
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT = 10 * 1024 * 1024


def peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def make_jpeg(path: Path) -> None:
    """A 12-megapixel phone photo just under the limit: noise, which compresses worst."""
    image = Image.effect_noise((4000, 3000), 60).convert("RGB")
    for quality in range(95, 40, -5):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= LIMIT - 256 * 1024:
            path.write_bytes(buffer.getvalue())
            return
    raise RuntimeError("could not make a JPEG under the limit")


def make_pdf(path: Path, jpeg: Path) -> None:
    """A scanned document: one page holding the big JPEG, as a scanner app writes it."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    with Image.open(jpeg) as image:
        width, height = image.size
    stream = pikepdf.Stream(pdf, jpeg.read_bytes())
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = width, height
    stream.ColorSpace = pikepdf.Name.DeviceRGB
    stream.BitsPerComponent = 8
    stream.Filter = pikepdf.Name.DCTDecode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    pdf.save(path)


def scenario_baseline(path: Path) -> dict:
    reset_peak()
    before = peak_kb()
    data = path.read_bytes()
    after = peak_kb()
    assert len(data) == path.stat().st_size
    return {"rise_kb": after - before}


def scenario_request(path: Path, name: str) -> dict:
    """The whole request in-process: multipart parsing, scan, clean, encrypt, store, row."""
    from portal import create_app, migrate
    from portal.config import PortalConfig
    from tests.apply_helpers import MAIN_APPLICANT_ALONE, photo_bytes, start_application
    from tests.helpers import csrf_token

    instance = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    config = PortalConfig(
        ENV="bench",
        SECRET_KEY="bench-secret-key-long-enough-0123456789abcdef",
        DATABASE_URL=f"sqlite:///{instance / 'bench.sqlite3'}",
        BASE_URL="http://localhost",
        TESTING=True,
        INSTANCE_PATH=instance,
        RATELIMIT_ENABLED=False,
        LOG_LEVEL="ERROR",
    )
    app = create_app(config)
    migrate.upgrade(app)
    client = app.test_client()
    start_application(client, app)
    for step, data in MAIN_APPLICANT_ALONE[:3]:
        page = client.get(f"/en/application/questions/{step}")
        client.post(
            f"/en/application/questions/{step}", data={**data, "csrf_token": csrf_token(page.text)}
        )

    def post(kind: str, source: Path, filename: str) -> int:
        page = client.get(f"/en/application/documents/{kind}/add")
        boundary = "----benchboundary7d9a"
        body = instance / "body.bin"
        with body.open("wb") as out:
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f"{csrf_token(page.text)}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            with source.open("rb") as data:
                while chunk := data.read(1024 * 1024):
                    out.write(chunk)
            out.write(f"\r\n--{boundary}--\r\n".encode())
        with body.open("rb") as stream:
            response = client.post(
                f"/en/application/documents/{kind}/add",
                input_stream=stream,
                content_length=body.stat().st_size,
                content_type=f"multipart/form-data; boundary={boundary}",
            )
        return response.status_code

    warm = instance / "warm.jpg"
    warm.write_bytes(photo_bytes((200, 150)))
    assert post("other", warm, "warm.jpg") == 302
    reset_peak()
    before = peak_kb()
    status = post("other", path, name)
    after = peak_kb()
    assert status == 302, f"the upload was refused ({status})"
    return {"rise_kb": after - before}


def child(which: str, path: str) -> None:
    source = Path(path)
    result = (
        scenario_baseline(source) if which == "baseline" else scenario_request(source, source.name)
    )
    print(json.dumps(result))


def run(which: str, path: Path) -> int:
    output = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    return json.loads(re.findall(r"^\{.*\}$", output, re.MULTILINE)[-1])["rise_kb"]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    jpeg = work / "photo.jpg"
    make_jpeg(jpeg)
    pdf = work / "scan.pdf"
    make_pdf(pdf, jpeg)
    print(f"{'upload':<34}{'file MB':>9}{'peak rise MB':>14}{'x file size':>13}{'x baseline':>12}")
    baseline_kb = run("baseline", jpeg)
    size_mb = jpeg.stat().st_size / 1024 / 1024
    print(
        f"{'baseline: read the file once':<34}{size_mb:>9.1f}{baseline_kb / 1024:>14.1f}"
        f"{baseline_kb / 1024 / size_mb:>13.2f}{1:>12.2f}"
    )
    for label, path in (("JPEG photo (re-encoded)", jpeg), ("PDF scan (checked, re-saved)", pdf)):
        rise = run("request", path)
        size = path.stat().st_size / 1024 / 1024
        print(
            f"{label:<34}{size:>9.1f}{rise / 1024:>14.1f}{rise / 1024 / size:>13.2f}"
            f"{rise / baseline_kb:>12.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
