"""kiosk.imageio.load_image on good and hostile files, all built at test time in tmp_path."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.errors import InputError
from kiosk.imageio import HARD_MAX_PIXELS, load_image, read_header

LIMITS = {"max_bytes": 25_000_000, "max_pixels": 60_000_000}


def _jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def _halves(h: int = 20, w: int = 40) -> np.ndarray:
    """Left half red, right half blue (RGB)."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (255, 0, 0)
    rgb[:, w // 2 :] = (0, 0, 255)
    return rgb


def _exif_segment(
    orientation: int | None, *, big_endian: bool = False, ifd_count: int | None = None
) -> bytes:
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    if ifd_count is not None:  # a lying entry count with no entries behind it
        tiff += struct.pack(e + "H", ifd_count) + b"\x00" * 20
    else:
        tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation or 1, 0)
        tiff += struct.pack(e + "I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _png_bomb(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of zeros: tiny on disk, width*height bytes once inflated."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [comp.compress(row * 256) for _ in range(height // 256)]
    parts.append(comp.compress(row * (height % 256)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def _code(source: object, **limits: int) -> str:
    kw = {**LIMITS, **limits}
    with pytest.raises(InputError) as info:
        load_image(source, **kw)  # type: ignore[arg-type]
    assert info.value.message and info.value.message != info.value.code
    return info.value.code


# ---------------------------------------------------------------------------------------------
# Good files


def test_jpeg_png_webp_round_trip(tmp_path: Path) -> None:
    rgb = _halves()
    for ext in (".jpg", ".png", ".webp"):
        ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 101])
        assert ok
        p = tmp_path / f"img{ext}"
        p.write_bytes(buf.tobytes())
        out = load_image(p, **LIMITS)
        assert out.shape == (20, 40, 3) and out.dtype == np.uint8
        assert out[10, 5, 0] > 200 and out[10, 5, 2] < 60, ext  # red stays red: RGB, not BGR
        assert out[10, 35, 2] > 200 and out[10, 35, 0] < 60, ext


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("big_endian", [False, True])
def test_exif_orientation_matches_opencv(orientation: int, big_endian: bool) -> None:
    data = _insert_after_soi(_jpeg(_halves(), 100), _exif_segment(orientation, big_endian=big_endian))
    assert read_header(data).orientation == orientation
    ours = load_image(data, **LIMITS)
    ref = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref).max() <= 2


def test_exif_orientation_6_turns_clockwise() -> None:
    data = _insert_after_soi(_jpeg(_halves(), 100), _exif_segment(6))
    out = load_image(data, **LIMITS)
    assert out.shape == (40, 20, 3)  # portrait now
    assert out[5, 10, 0] > 200  # the left (red) half is on top after a clockwise turn
    assert out[35, 10, 2] > 200


def test_alpha_is_composited_on_white() -> None:
    bgra = np.zeros((10, 10, 4), np.uint8)
    bgra[:, :, 2] = 255  # red in BGR
    bgra[:, :5, 3] = 0  # transparent left half
    bgra[:, 5:, 3] = 255
    out = load_image(_png(bgra), **LIMITS)
    assert out.shape == (10, 10, 3)
    assert (out[:, :5] == 255).all()  # white, not black
    assert tuple(out[5, 7]) == (255, 0, 0)


def test_grey_and_16_bit_become_rgb8() -> None:
    grey = np.full((8, 8), 100, np.uint8)
    out = load_image(_png(grey), **LIMITS)
    assert out.shape == (8, 8, 3) and (out == 100).all()
    grey16 = np.full((8, 8), 50_000, np.uint16)
    out16 = load_image(_png(grey16), **LIMITS)
    assert out16.dtype == np.uint8 and (out16 == 50_000 >> 8).all()
    ok, buf = cv2.imencode(".jpg", grey)
    assert (load_image(buf.tobytes(), **LIMITS)[:, :, 0] >= 98).all()


def test_cmyk_jpeg_is_converted() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    import io

    im = image_mod.new("CMYK", (32, 24), (0, 255, 255, 0))  # no cyan, full magenta+yellow: red
    b = io.BytesIO()
    im.save(b, "JPEG", quality=95)
    out = load_image(b.getvalue(), **LIMITS)
    assert out.shape == (24, 32, 3)
    r, g, bl = (int(v) for v in out[12, 16])
    assert r > 220 and g < 40 and bl < 40


def test_rgba_png_from_the_data_set(data_dir: Path) -> None:
    out = load_image(data_dir / "face_recognition_examples" / "edge_cases" / "32bit_rgba.png", **LIMITS)
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8


# ---------------------------------------------------------------------------------------------
# Bad files


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    assert _code(p) == "empty_file"


def test_random_bytes(tmp_path: Path) -> None:
    p = tmp_path / "random.jpg"
    p.write_bytes(np.random.default_rng(3).bytes(50_000))
    assert _code(p) == "not_an_image"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert _code(tmp_path / "nope.jpg") == "file_not_found"
    assert _code(tmp_path) == "not_a_file"


def test_truncated_jpeg_and_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(5).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    jpg = _jpeg(noise)
    assert _code(jpg[: len(jpg) * 6 // 10]) == "truncated_image"
    assert _code(jpg[:300]) == "truncated_image"  # cut inside the header
    png = _png(noise)
    assert _code(png[: len(png) // 2]) == "truncated_image"


def test_file_too_large(tmp_path: Path) -> None:
    p = tmp_path / "big.jpg"
    p.write_bytes(_jpeg(_halves()))
    assert _code(p, max_bytes=100) == "file_too_large"


def test_pixels_over_the_configured_limit() -> None:
    noise = np.random.default_rng(1).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    assert _code(_jpeg(noise), max_pixels=10_000) == "image_too_large"


def test_100_megapixel_jpeg_refused_from_its_header(tmp_path: Path) -> None:
    # A real, complete 10000x10000 JPEG; refused however high max_pixels is set.
    grey = np.zeros((10_000, 10_000), np.uint8)
    grey[::50] = 255
    ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    del grey
    assert ok
    p = tmp_path / "huge.jpg"
    p.write_bytes(buf.tobytes())
    assert read_header(buf.tobytes()).pixels >= HARD_MAX_PIXELS
    assert _code(p, max_pixels=400_000_000, max_bytes=100_000_000) == "image_too_large"


def test_png_bomb(tmp_path: Path) -> None:
    bomb = _png_bomb(12_000, 12_000)  # 144 MB of pixels in ~150 kB
    assert len(bomb) < 1_000_000
    p = tmp_path / "bomb.png"
    p.write_bytes(bomb)
    assert _code(p) == "decompression_bomb"
    # Below 100 MP but above the configured limit: still refused before decoding.
    assert _code(_png_bomb(8_000, 8_000)) == "decompression_bomb"


def test_refusals_do_not_decode(tmp_path: Path) -> None:
    """Peak memory of a process that is refused a 144 MP bomb stays far below the pixel size."""
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_bomb(12_000, 12_000))
    code = (
        "import json, resource, sys\n"
        "from kiosk.errors import InputError\n"
        "from kiosk.imageio import load_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    load_image(sys.argv[1], max_bytes=25_000_000, max_pixels=60_000_000)\n"
        "    code = 'loaded'\n"
        "except InputError as e:\n"
        "    code = e.code\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'code': code, 'grew_kb': after - before}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["code"] == "decompression_bomb"
    assert res["grew_kb"] < 30_000  # decoding would take ~144 MB (432 MB as RGB)


def test_huge_exif_block(tmp_path: Path) -> None:
    base = _jpeg(_halves(), 100)
    # One maximal APP1 whose IFD claims 65535 entries that are not there: ignored, image loads upright.
    lying = _exif_segment(None, ifd_count=65_535)
    padded = lying + b"\xff\xfe" + struct.pack(">H", 65_535) + b"\x00" * 65_533  # plus a full comment
    out = load_image(_insert_after_soi(base, padded), **LIMITS)
    assert out.shape == (20, 40, 3)
    # 20 MB of metadata segments before the picture: refused with a clear code.
    filler = b"Exif\x00\x00" + b"\x00" * (65_533 - 6)
    seg = b"\xff\xe1" + struct.pack(">H", 65_535) + filler
    p = tmp_path / "exif_bomb.jpg"
    p.write_bytes(_insert_after_soi(base, *([seg] * 310)))
    assert p.stat().st_size > 20_000_000
    assert _code(p) == "metadata_too_large"


def test_video_given_as_an_image(tmp_path: Path) -> None:
    mp4ish = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2000
    assert _code(mp4ish) == "not_an_image"
    avi = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    renamed = tmp_path / "id_card.jpg"
    renamed.write_bytes(avi.read_bytes())
    assert _code(renamed) == "not_an_image"


def test_real_video_from_the_data_set(data_dir: Path, tmp_path: Path) -> None:
    clip = data_dir / "face_recognition_examples" / "video" / "short_hamilton_clip.mp4"
    if not clip.is_file():
        pytest.skip("short_hamilton_clip.mp4 absent")
    assert _code(clip) == "not_an_image"


def test_other_formats_are_named() -> None:
    assert _code(b"GIF89a" + b"\x00" * 100) == "unsupported_format"
    assert _code(b"%PDF-1.7\n" + b"\x00" * 100) == "unsupported_format"
    assert _code(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100) == "unsupported_format"
