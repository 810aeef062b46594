"""Safe decoding of untrusted image files (uploads, drop folders, USB sticks, CLI arguments).

Everything a stranger can hand the kiosk goes through :func:`load_image`. The rules, in order:

1. Read at most ``max_bytes`` (+1 to notice an overflow); refuse non-regular files (FIFOs, devices).
2. Recognise the container from its magic bytes. Only JPEG, PNG and WebP are decoded; a video, a
   PDF, HEIC, GIF... is refused by name so the applicant is told what to do instead.
3. Parse the header ourselves (no decoder involved) to learn width x height, and refuse images of
   100 megapixels or more, or above ``max_pixels``, BEFORE a single pixel is decoded. A tiny file
   claiming a huge canvas (a PNG/"zip" bomb) is reported as ``decompression_bomb``.
4. Check the file is complete (JPEG end-of-image marker after the scan, PNG ``IEND``, WebP RIFF
   size), so a truncated upload is refused instead of being decoded with a grey bottom half.
5. Decode with OpenCV (``IMREAD_UNCHANGED``: keeps alpha, 16-bit and grey as stored), then convert:
   16-bit to 8-bit, grey to RGB, alpha composited on white (a transparent PNG scan must not become
   a black card), CMYK/YCCK JPEGs are converted by libjpeg/OpenCV.
6. Apply the EXIF orientation, read by a small bounded parser (first Exif segment only, <= 64 KiB),
   so phone photos come out upright. Malformed EXIF is ignored, never fatal.

Memory is bounded by ``max_bytes`` for the file plus ``max_pixels`` x 4 (x 2 for 16-bit) for pixels.
OpenCV only; Pillow is not used.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kiosk.errors import InputError

log = logging.getLogger(__name__)

#: Absolute ceiling whatever the config says: 100 megapixels or more is never decoded.
HARD_MAX_PIXELS = 100_000_000
#: Pixels per file byte above which an oversized image is called a decompression bomb rather than
#: merely too large (real photos compress 3-30x; a bomb compresses 1000x or more).
BOMB_PIXELS_PER_BYTE = 200.0
#: JPEG metadata (APPn/COM segments before the first frame header) beyond this is refused.
MAX_METADATA_BYTES = 16_000_000

ACCEPTED_FORMATS = ("jpeg", "png", "webp")


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, before decoding: container format, size in pixels, EXIF orientation (1..8)."""

    format: str
    width: int
    height: int
    orientation: int = 1
    complete: bool = True  # the end marker is there (JPEG EOI after the scan, PNG IEND, WebP RIFF size)

    @property
    def pixels(self) -> int:
        return self.width * self.height


# ---------------------------------------------------------------------------------------------
# Reading bytes


def _read_bounded(source: str | os.PathLike[str] | bytes | bytearray | memoryview, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise InputError(
                f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes", code="file_too_large"
            )
        return data
    path = Path(source)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}", code="file_not_found") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", code="file_unreadable") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is a folder, not an image file", code="not_a_file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path} is not a regular file", code="not_a_file")
    if st.st_size > max_bytes:
        raise InputError(
            f"{path.name} is {st.st_size:,} bytes; the limit is {max_bytes:,} bytes", code="file_too_large"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # +1: the file may have grown since stat()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", code="file_unreadable") from None
    if len(data) > max_bytes:
        raise InputError(f"{path.name} is larger than {max_bytes:,} bytes", code="file_too_large")
    return data


# ---------------------------------------------------------------------------------------------
# Format sniffing


def sniff_format(data: bytes) -> str:
    """Container name from magic bytes: ``jpeg``, ``png``, ``webp``, or the name of something we refuse.

    Refused names: ``video``, ``heic``, ``avif``, ``gif``, ``pdf``, ``tiff``, ``bmp``, ``unknown``.
    """
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "video"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "heic"
        if brand in (b"avif", b"avis"):
            return "avif"
        return "video"  # mp4, mov (qt), 3gp, m4v...
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video"  # old QuickTime without ftyp
    if head.startswith(b"\x1a\x45\xdf\xa3") or head.startswith(b"\x00\x00\x01\xba") or head[:3] == b"FLV":
        return "video"  # Matroska/WebM, MPEG-PS, Flash video
    if len(data) > 376 and data[0] == 0x47 and data[188] == 0x47 and data[376] == 0x47:
        return "video"  # MPEG-TS: a sync byte every 188 bytes
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    return "unknown"


_REFUSED_MESSAGES = {
    "video": "this is a video, not a photo; upload a JPEG, PNG or WebP picture of the document",
    "heic": "HEIC photos are not supported; export the photo as JPEG (most phones offer 'Most compatible')",
    "avif": "AVIF images are not supported; upload a JPEG, PNG or WebP picture",
    "gif": "GIF images are not supported; upload a JPEG, PNG or WebP picture",
    "pdf": "PDF files are not supported; upload a JPEG, PNG or WebP photo or scan of the document",
    "tiff": "TIFF images are not supported; upload a JPEG, PNG or WebP picture",
    "bmp": "BMP images are not supported; upload a JPEG, PNG or WebP picture",
}


# ---------------------------------------------------------------------------------------------
# Header parsing (no pixel decoding)

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_header(data: bytes) -> tuple[ImageHeader, int]:
    """Size and orientation from a JPEG's segments; also the offset of the first SOS segment."""
    n = len(data)
    pos = 2
    orientation = 1
    metadata = 0
    size: tuple[int, int] | None = None
    while pos < n:
        # Markers may be padded with any number of 0xFF bytes.
        if data[pos] != 0xFF:
            raise InputError(
                "the JPEG structure is damaged (no marker where one was expected)", code="corrupt_image"
            )
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # no length field
        if marker == 0xD9:
            raise InputError("the JPEG ends before any image data", code="truncated_image")
        if pos + 2 > n:
            break
        (seg_len,) = struct.unpack(">H", data[pos : pos + 2])
        if seg_len < 2:
            raise InputError("the JPEG structure is damaged (bad segment length)", code="corrupt_image")
        body = data[pos + 2 : pos + seg_len]
        if marker == 0xDA:  # start of scan: the header is over
            if size is None:
                raise InputError("the JPEG has no frame header", code="corrupt_image")
            w, h = size
            return ImageHeader("jpeg", w, h, orientation), pos - 2
        if marker in _JPEG_SOF:
            if len(body) < 5:
                break
            h, w = struct.unpack(">HH", body[1:5])
            if size is None:
                size = (w, h)
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            metadata += seg_len
            if metadata > MAX_METADATA_BYTES:
                raise InputError(
                    f"the JPEG carries more than {MAX_METADATA_BYTES // 1_000_000} MB of metadata before the "
                    "picture; re-save the photo (e.g. as a screenshot or export) and upload again",
                    code="metadata_too_large",
                )
            if marker == 0xE1 and orientation == 1 and body.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(body[6:])
        pos += seg_len
    raise InputError("the JPEG file is cut off before its image data", code="truncated_image")


def _exif_orientation(tiff: bytes) -> int:
    """Orientation tag (0x0112) from IFD0 of a TIFF-structured EXIF block; 1 when absent or malformed."""
    try:
        if tiff[:2] == b"II":
            e = "<"
        elif tiff[:2] == b"MM":
            e = ">"
        else:
            return 1
        (ifd,) = struct.unpack(e + "I", tiff[4:8])
        (count,) = struct.unpack(e + "H", tiff[ifd : ifd + 2])
        count = min(count, 512)  # bounded whatever the block claims
        for i in range(count):
            off = ifd + 2 + 12 * i
            entry = tiff[off : off + 12]
            if len(entry) < 12:
                return 1
            tag, typ = struct.unpack(e + "HH", entry[:4])
            if tag == 0x0112 and typ == 3:
                (val,) = struct.unpack(e + "H", entry[8:10])
                return int(val) if 1 <= val <= 8 else 1
    except struct.error:
        return 1
    return 1


def _png_header(data: bytes) -> ImageHeader:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise InputError("the PNG file is cut off or damaged (no header)", code="truncated_image")
    w, h = struct.unpack(">II", data[16:24])
    orientation = 1
    # Walk chunk headers only (bounded: no chunk body is copied except a small eXIf).
    pos = 8
    n = len(data)
    seen_iend = False
    while pos + 8 <= n:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        if ctype == b"eXIf" and length <= 65_536 and orientation == 1:
            orientation = _exif_orientation(data[pos + 8 : pos + 8 + length])
        if ctype == b"IEND":
            seen_iend = True
            break
        pos += 12 + length
    return ImageHeader("png", w, h, orientation, complete=seen_iend)


def _webp_header(data: bytes) -> ImageHeader:
    (riff_size,) = struct.unpack("<I", data[4:8])
    complete = riff_size + 8 <= len(data)
    orientation = 1
    w = h = 0
    pos = 12
    end = min(len(data), riff_size + 8)
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (clen,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + min(clen, 65_536)]
        if fourcc == b"VP8X" and len(body) >= 10:
            w = 1 + int.from_bytes(body[4:7], "little")
            h = 1 + int.from_bytes(body[7:10], "little")
        elif fourcc == b"VP8 " and len(body) >= 10 and not w:
            if body[3:6] != b"\x9d\x01\x2a":
                raise InputError("the WebP image data is damaged", code="corrupt_image")
            w = struct.unpack("<H", body[6:8])[0] & 0x3FFF
            h = struct.unpack("<H", body[8:10])[0] & 0x3FFF
        elif fourcc == b"VP8L" and len(body) >= 5 and not w:
            if body[0] != 0x2F:
                raise InputError("the WebP image data is damaged", code="corrupt_image")
            bits = int.from_bytes(body[1:5], "little")
            w = (bits & 0x3FFF) + 1
            h = ((bits >> 14) & 0x3FFF) + 1
        elif fourcc == b"EXIF" and orientation == 1:
            exif = body[6:] if body.startswith(b"Exif\x00\x00") else body
            orientation = _exif_orientation(exif)
        elif fourcc == b"ANMF":
            raise InputError(
                "animated WebP is not supported; upload a still picture", code="unsupported_format"
            )
        pos += 8 + clen + (clen & 1)
    if not w or not h:
        raise InputError("the WebP file has no image data", code="corrupt_image")
    return ImageHeader("webp", w, h, orientation, complete=complete)


def read_header(data: bytes) -> ImageHeader:
    """Parse the header of an accepted format (no pixel decoding); raises :class:`InputError` for
    other formats and damaged headers. Completeness is reported in ``complete``, not raised."""
    fmt = sniff_format(data)
    if fmt in _REFUSED_MESSAGES:
        code = "not_an_image" if fmt == "video" else "unsupported_format"
        raise InputError(_REFUSED_MESSAGES[fmt], code=code)
    if fmt == "unknown":
        raise InputError(
            "this file is not a picture (not JPEG, PNG or WebP); upload a photo or scan of the document",
            code="not_an_image",
        )
    if fmt == "jpeg":
        header, sos = _jpeg_header(data)
        # Entropy-coded data stuffs 0xFF as FF00, so an FFD9 after the first scan is the real end marker.
        return replace(header, complete=data.find(b"\xff\xd9", sos) >= 0)
    if fmt == "png":
        return _png_header(data)
    return _webp_header(data)


def _check_size(header: ImageHeader, n_bytes: int, max_pixels: int) -> None:
    if header.width <= 0 or header.height <= 0:
        raise InputError("the image header gives no size", code="corrupt_image")
    limit = min(max_pixels, HARD_MAX_PIXELS - 1)
    if header.pixels > limit:
        mp = header.pixels / 1e6
        if header.pixels / max(1, n_bytes) > BOMB_PIXELS_PER_BYTE:
            raise InputError(
                f"the file claims a {header.width}x{header.height} image ({mp:.0f} megapixels) in only "
                f"{n_bytes:,} bytes; refusing it as a decompression bomb",
                code="decompression_bomb",
            )
        raise InputError(
            f"the image is {header.width}x{header.height} ({mp:.0f} megapixels); the limit is "
            f"{limit / 1e6:.0f} megapixels; upload a smaller photo",
            code="image_too_large",
        )


# ---------------------------------------------------------------------------------------------
# Decoding


def _to_rgb8(img: np.ndarray) -> np.ndarray:
    """OpenCV's BGR/BGRA/grey, 8 or 16 bit, to RGB uint8 with alpha composited on white."""
    import cv2

    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise InputError(f"unsupported pixel type {img.dtype}", code="unsupported_format")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        alpha = img[:, :, 3:4].astype(np.uint16)
        colour = img[:, :, :3].astype(np.uint16)
        # out = c * a + 255 * (1 - a), integer arithmetic rounded to nearest
        out = (colour * alpha + 255 * (255 - alpha) + 127) // 255
        return cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_BGR2RGB)
    raise InputError(f"unsupported number of colour channels: {channels}", code="unsupported_format")


def apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image as EXIF orientation ``orientation`` (1..8) says, so it displays upright."""
    if orientation == 2:
        out = rgb[:, ::-1]
    elif orientation == 3:
        out = rgb[::-1, ::-1]
    elif orientation == 4:
        out = rgb[::-1, :]
    elif orientation == 5:
        out = np.transpose(rgb, (1, 0, 2))
    elif orientation == 6:
        out = np.rot90(rgb, k=-1)  # 90 degrees clockwise
    elif orientation == 7:
        out = np.transpose(rgb[::-1, ::-1], (1, 0, 2))  # transverse: mirror across the anti-diagonal
    elif orientation == 8:
        out = np.rot90(rgb, k=1)  # 90 degrees counter-clockwise
    else:
        return rgb
    return np.ascontiguousarray(out)


def load_image(
    path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    max_bytes: int,
    max_pixels: int,
) -> np.ndarray:
    """Decode an untrusted JPEG/PNG/WebP into an upright RGB uint8 HxWx3 array.

    ``max_bytes``: largest accepted file; ``max_pixels``: largest accepted width x height (capped at
    just under 100 megapixels whatever is passed). Raises :class:`kiosk.errors.InputError` with a
    stable ``.code``: ``file_not_found``, ``file_unreadable``, ``not_a_file``, ``empty_file``,
    ``file_too_large``, ``not_an_image``, ``unsupported_format``, ``truncated_image``,
    ``corrupt_image``, ``image_too_large``, ``decompression_bomb``, ``metadata_too_large``.
    """
    data = _read_bounded(path_or_bytes, max_bytes)
    if not data:
        raise InputError("the file is empty (0 bytes)", code="empty_file")
    header = read_header(data)
    _check_size(header, len(data), max_pixels)  # before anything else: never start on a giant
    if not header.complete:
        raise InputError(
            f"the {header.format.upper()} file is cut off (an incomplete upload or copy); send it again",
            code="truncated_image",
        )
    return _decode(data, header)


def _decode(data: bytes, header: ImageHeader) -> np.ndarray:
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise InputError(
            f"the {header.format.upper()} image could not be decoded: {exc.msg}", code="corrupt_image"
        ) from None
    if img is None or img.size == 0:
        raise InputError(
            f"the {header.format.upper()} image data is damaged and cannot be decoded", code="corrupt_image"
        )
    if img.shape[0] != header.height or img.shape[1] != header.width:
        # The decoder and the header disagree: something is forged; do not trust either.
        raise InputError("the image header does not match its data", code="corrupt_image")
    rgb = _to_rgb8(img)
    return apply_orientation(rgb, header.orientation)


def image_size(path_or_bytes: str | os.PathLike[str] | bytes, *, max_bytes: int) -> tuple[int, int]:
    """(width, height) as stored (before EXIF orientation), from the header alone."""
    data = _read_bounded(path_or_bytes, max_bytes)
    if not data:
        raise InputError("the file is empty (0 bytes)", code="empty_file")
    h = read_header(data)
    return h.width, h.height
