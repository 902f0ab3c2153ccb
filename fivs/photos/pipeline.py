"""Photo ingest: check an uploaded photo and make its two stored derivatives.

``ingest(data)`` takes the raw upload and returns a display JPEG (long edge at most
``display_edge``: 2000 px unless told; the app passes its FIVS_PHOTO_MAX_PX) and a
thumbnail JPEG (at most 320 px, made from the display image). Both are upright, sRGB
and carry no metadata at all: no EXIF (so no GPS), no XMP, no ICC profile, no comment. The original upload is never stored; only its SHA-256 is kept.

Only JPEG, PNG, WebP and HEIC/HEIF are accepted, judged by the decoded content. Every
refusal is a ``PhotoError`` with an HTTP status, a short code and an English sentence.

Speed: a JPEG is decoded with ``Image.draft`` so libjpeg scales it down by 1/2, 1/4 or
1/8 while decoding. Resizing, colour conversion and rotation all happen on the small
image. The SHA-256 is computed while the pixels decode, and the thumbnail is made while
the display image encodes, on one helper thread (hashlib and Pillow release the GIL).
This module is a plain library: no Flask, no database.
"""
from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from PIL import Image, ImageCms

__all__ = [
    "MAX_PIXELS",
    "CorruptImageError",
    "EmptyFileError",
    "IngestResult",
    "NotAnImageError",
    "PhotoError",
    "TooManyPixelsError",
    "UnsupportedTypeError",
    "ingest",
    "register_heif",
]

MAX_PIXELS = 50_000_000

# Pillow format name -> the name we record. Phones often save JPEGs that Pillow opens as
# MPO (a JPEG with extra pictures after the main one); the first picture is a plain JPEG.
_ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIF"}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

_TAG_ORIENTATION = 0x0112
_IFD_EXIF = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_EXIF_DATETIME_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_SRGB = ImageCms.createProfile("sRGB")


# --------------------------------------------------------------------------- errors


class PhotoError(Exception):
    """A photo we refuse. ``status`` is the HTTP status, ``code`` a short machine code."""

    status: int = 422
    code: str = "photo_error"
    message: str = "The photo could not be processed."

    def __init__(self, message: str | None = None, **params: object) -> None:
        if message is not None:
            self.message = message
        self.params = params  # the values named in the message, for a translated one
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class EmptyFileError(PhotoError):
    status, code = 415, "empty_file"
    message = "The uploaded file is empty."


class NotAnImageError(PhotoError):
    status, code = 415, "not_an_image"
    message = "The uploaded file is not an image."


class UnsupportedTypeError(PhotoError):
    status, code = 415, "unsupported_type"
    message = "This type of image is not accepted. Please upload a JPEG, PNG, WebP or HEIC photo."


class CorruptImageError(PhotoError):
    status, code = 422, "corrupt_image"
    message = "The image is damaged or incomplete and cannot be read."


class TooManyPixelsError(PhotoError):
    status, code = 422, "too_many_pixels"
    message = "The image is too large: photos may have at most 50 megapixels."


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class IngestResult:
    display: bytes
    thumb: bytes
    sha256: str  # hex digest of the uploaded bytes
    captured_at: datetime | None  # EXIF DateTimeOriginal, naive local camera time
    width: int  # of display
    height: int
    thumb_width: int
    thumb_height: int
    source_format: str  # "JPEG", "PNG", "WEBP" or "HEIF"
    source_width: int  # upright
    source_height: int


# --------------------------------------------------------------------------- HEIF

_heif_lock = threading.Lock()
_heif_registered = False


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (pillow-heif). Safe to call any number of times;
    the app calls it at start-up and ``ingest`` calls it too, so HEIC always works."""
    global _heif_registered
    with _heif_lock:
        if _heif_registered:
            return
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


# --------------------------------------------------------------------------- ingest


def ingest(
    data: bytes, *, display_edge: int = 2000, thumb_edge: int = 320, quality: int = 85
) -> IngestResult:
    """Check ``data`` and return the display and thumbnail JPEGs. Raises ``PhotoError``."""
    if display_edge < 1 or thumb_edge < 1 or not 1 <= quality <= 100:
        raise ValueError("display_edge and thumb_edge must be positive, quality 1..100")
    if not data:
        raise EmptyFileError()
    register_heif()

    im = _open(data)
    source_format = _accepted_format(im)
    source_size = im.size  # before draft() shrinks it
    _check_pixels(source_size)
    digest = _helper().submit(_sha256, data)  # hashlib releases the GIL: hashed while decoding
    _decode(im, display_edge)
    # Metadata after decoding: PNG may keep eXIf/iTXt chunks after the pixel data.
    orientation = _read_orientation(im)
    captured_at = _read_captured_at(im)
    source_width, source_height = _upright_size(source_size, orientation)

    display = _make_display(im, display_edge, im.info.get("icc_profile"), orientation)
    thumb_job = _helper().submit(_make_thumb, display, thumb_edge, quality)  # while the display encodes
    display_jpeg = _encode_jpeg(display, quality)
    thumb, thumb_jpeg = thumb_job.result()

    return IngestResult(
        display=display_jpeg,
        thumb=thumb_jpeg,
        sha256=digest.result(),
        captured_at=captured_at,
        width=display.width,
        height=display.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        source_format=source_format,
        source_width=source_width,
        source_height=source_height,
    )


@lru_cache(maxsize=1)
def _helper() -> ThreadPoolExecutor:
    """One helper thread per process for the work that overlaps (made on first use, not at import)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="fivs-photo")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_thumb(display: Image.Image, edge: int, quality: int) -> tuple[Image.Image, bytes]:
    """Made from the display image, not the original: box-reduce by an integer factor
    (area averaging, no aliasing), then bicubic for the last small step."""
    thumb = _resize_within(display, edge, Image.Resampling.BICUBIC, reducing_gap=1.0)
    return thumb, _encode_jpeg(thumb, quality)


# --------------------------------------------------------------------------- opening

# warnings.catch_warnings() swaps a process-wide filter list; the lock stops two uploads
# from interleaving their save/restore (which could leave our filters behind). It is
# only held while the header and EXIF are parsed, a fraction of a millisecond.
_warnings_lock = threading.Lock()


@contextmanager
def _pillow_warnings() -> Iterator[None]:
    """Pillow reports a decompression bomb (over Image.MAX_IMAGE_PIXELS) as a warning:
    make it an error. Its "Corrupt EXIF data" warnings are noise for us: silence them."""
    with _warnings_lock, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", "Corrupt EXIF data", UserWarning)
        yield


def _open(data: bytes) -> Image.Image:
    """Identify the image from its header, without decoding the pixels."""
    try:
        with _pillow_warnings():
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixelsError() from exc
    except Exception as exc:  # UnidentifiedImageError, or a plugin choking on a bad header
        if _looks_like_accepted_type(data):
            raise CorruptImageError() from exc
        raise NotAnImageError() from exc


def _looks_like_accepted_type(data: bytes) -> bool:
    """True when the magic bytes say JPEG/PNG/WebP/HEIF (so a failed open means damage)."""
    head = data[:16]
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS)
    )


def _accepted_format(im: Image.Image) -> str:
    source_format = _ACCEPTED_FORMATS.get(im.format or "")
    if source_format is None:
        raise UnsupportedTypeError(
            f"{im.format or 'This'} images are not accepted. "
            "Please upload a JPEG, PNG, WebP or HEIC photo.",
            image_format=im.format or "",
        )
    return source_format


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise CorruptImageError()
    if width * height > MAX_PIXELS:
        raise TooManyPixelsError(
            f"The image is too large ({width}x{height} pixels): "
            "photos may have at most 50 megapixels.",
            width=width,
            height=height,
        )


def _decode(im: Image.Image, display_edge: int) -> None:
    """Decode the pixels. JPEGs are decoded straight at 1/2, 1/4 or 1/8 scale when that
    still leaves at least ``display_edge`` pixels on the long edge (draft is a no-op for
    other formats)."""
    target = _fit_size(im.size, display_edge)
    if target != im.size:
        im.draft("RGB", target)
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise TooManyPixelsError() from exc
    except Exception as exc:  # truncated data, bad Huffman tables, zlib errors...
        raise CorruptImageError() from exc


# --------------------------------------------------------------------------- metadata


def _read_orientation(im: Image.Image) -> int:
    """EXIF orientation 1..8; 1 when absent, invalid or the EXIF block is broken."""
    try:
        with _pillow_warnings():
            value = im.getexif().get(_TAG_ORIENTATION, 1)
        if isinstance(value, (tuple, list)):
            value = value[0]
        value = int(value)
    except Exception:  # broken EXIF must not cost us a photo with good pixels
        return 1
    return value if 1 <= value <= 8 else 1


def _read_captured_at(im: Image.Image) -> datetime | None:
    try:
        with _pillow_warnings():
            value = im.getexif().get_ifd(_IFD_EXIF).get(_TAG_DATETIME_ORIGINAL)
    except Exception:
        return None
    return _parse_exif_datetime(value)


def _parse_exif_datetime(value: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 \t\r\n")[:19]
    for fmt in _EXIF_DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    return (height, width) if orientation >= 5 else (width, height)


# --------------------------------------------------------------------------- pixels


def _make_display(
    im: Image.Image, edge: int, icc_profile: bytes | None, orientation: int
) -> Image.Image:
    """Decoded image -> upright sRGB RGB image with long edge <= edge. Every step after
    the resize works on the small image."""
    small = _resize_within(_working_mode(im), edge, Image.Resampling.BILINEAR)
    rgb = _to_srgb(_flatten_alpha(small), icc_profile)
    return rgb.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else rgb


def _working_mode(im: Image.Image) -> Image.Image:
    """Bring odd modes (palette, 1-bit, 16-bit, LA, tRNS colour keys) to L, RGB, RGBA or CMYK."""
    if im.mode in ("RGBA", "CMYK"):
        return im
    if im.mode == "I" or im.mode.startswith("I;16"):  # 16-bit greyscale PNG
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.has_transparency_data:
        return im.convert("RGBA")
    if im.mode in ("RGB", "L"):
        return im
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")


def _fit_size(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """Size with the long edge at most ``edge``, same aspect ratio, never larger."""
    width, height = size
    longest = max(width, height)
    if longest <= edge:
        return size
    scale = edge / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize_within(
    im: Image.Image, edge: int, resample: Image.Resampling, reducing_gap: float = 2.0
) -> Image.Image:
    """Shrink so the long edge is at most ``edge``. ``reducing_gap`` first box-reduces by
    an integer factor (fast, area-averaging), then ``resample`` does the rest."""
    size = _fit_size(im.size, edge)
    if size == im.size:
        return im
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _flatten_alpha(im: Image.Image) -> Image.Image:
    """Put a transparent image on white."""
    if im.mode != "RGBA":
        return im
    background = Image.new("RGB", im.size, "white")
    background.paste(im, mask=im.getchannel("A"))
    return background


def _to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert from the embedded ICC profile to sRGB; plain conversion without one or
    when the profile is broken or does not fit the pixel mode."""
    transform = _srgb_transform(bytes(icc_profile), im.mode) if icc_profile else None
    if transform is not None:
        try:
            return transform.apply(im)
        except (ImageCms.PyCMSError, ValueError, OSError):
            pass
    return im if im.mode == "RGB" else im.convert("RGB")


@lru_cache(maxsize=16)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """Cached: phones embed the same few profiles (Display P3, sRGB) in every photo."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(
            source, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


PRINT_EDGE = 800  # a photo of a pair is ~8 cm wide in a report: 800 px is ~250 dpi there
PRINT_QUALITY = 75


def make_print(display_jpeg: bytes, *, edge: int = PRINT_EDGE, quality: int = PRINT_QUALITY) -> bytes:
    """The print derivative of a display JPEG (already upright sRGB, no metadata): long edge at most
    `edge`, JPEG `quality`. Reports embed it instead of the display image, so a PDF stays small enough to
    e-mail."""
    with _pillow_warnings():
        im = Image.open(io.BytesIO(display_jpeg))
        im.draft("RGB", _fit_size(im.size, edge))  # JPEG: decode at a reduced scale when it can
        small = _resize_within(im.convert("RGB"), edge, Image.Resampling.LANCZOS)
    return _encode_jpeg(small, quality)


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """Baseline JPEG with no metadata: only the JFIF APP0 segment is written. No exif,
    xmp or icc_profile is passed; comment=b"" stops Pillow copying im.info["comment"]."""
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=False, progressive=False, comment=b"")
    return out.getvalue()
