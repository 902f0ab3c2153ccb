"""Photo ingest core: fivs.photos.pipeline and fivs.photos.storage (no Flask, no DB)."""
from __future__ import annotations

import ast
import io
import os
import struct
import time
import warnings
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageFile

from fivs.photos.pipeline import IngestResult, PhotoError, ingest, register_heif
from fivs.photos.storage import FileStorage, InvalidKeyError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PHOTOS = PROJECT_ROOT.parent / "shared/testdata/photos"
ORIENTATION = PHOTOS / "orientation"
ORIENTATION_FILES = [f"{kind}_{n}.jpg" for kind in ("Landscape", "Portrait") for n in range(9)]


# --------------------------------------------------------------------------- helpers


def jpeg_bytes(im: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", **params)
    return out.getvalue()


def encoded(im: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def textured(size=(640, 480)) -> Image.Image:
    """Not flat: gradient + structure, so orientation and colour mistakes show."""
    w, h = size
    grad = Image.linear_gradient("L").resize(size)
    mandel = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 40)
    return Image.merge("RGB", (grad, mandel, grad.rotate(90).resize(size)))


def open_jpeg(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    im.load()
    return im


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) for every segment before the image data (SOS)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segments, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"bad marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        pos += 2 + length
    return segments


def assert_no_metadata(data: bytes) -> None:
    segments = jpeg_segments(data)
    app_markers = [(m, p[:5]) for m, p in segments if 0xE0 <= m <= 0xEF]
    assert app_markers == [(0xE0, b"JFIF\x00")], f"only a JFIF APP0 allowed, got {app_markers}"
    assert all(m != 0xFE for m, _ in segments), "COM segment present"
    assert b"\xff\xfe" not in data.split(b"\xff\xda", 1)[0]
    for needle in (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE", b"<x:xmpmeta"):
        assert needle not in data
    im = open_jpeg(data)
    assert not set(im.info) & {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"}
    assert dict(im.getexif()) == {}
    assert im.mode == "RGB"


def signature(im: Image.Image, size: tuple[int, int]) -> bytes:
    return im.convert("L").resize(size, Image.Resampling.BOX).tobytes()


def mad(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def exif_with(orientation: int | None = None, taken: str | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        exif.get_ifd(0x8825).update(
            {0: b"\x02\x02\x00\x00", 1: "N", 2: (21.0, 16.0, 23.4), 3: "E", 4: (106.0, 11.0, 41.2)}
        )
    return exif.tobytes()


def splice_app1(jpeg: bytes, payload: bytes) -> bytes:
    """Insert an APP1 segment right after SOI."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims a huge size (no pixel data needed to be refused)."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# An ICC v2 RGB matrix/TRC profile built by hand, so the test can use a profile that is
# clearly not sRGB: red and blue primaries swapped. Converting through it turns red blue.
def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def matrix_profile(red, green, blue, description: str) -> bytes:
    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    text = description.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(8) + bytes(3) + bytes(67)
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\0\0\0\0public domain\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*red)),
        (b"gXYZ", xyz(*green)),
        (b"bXYZ", xyz(*blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    first = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", first + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", first + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(28)
        + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + table + body


SRGB_PRIMARIES = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def _heif_can_encode() -> bool:
    import pillow_heif

    return bool(pillow_heif.libheif_info().get("HEIF"))


# --------------------------------------------------------------------------- orientation


def _reference(kind: str, size: tuple[int, int]) -> bytes:
    # Orientation 1: the stored pixels are already upright, no EXIF handling needed.
    return signature(Image.open(ORIENTATION / f"{kind}_1.jpg"), size)


@pytest.mark.parametrize("name", ORIENTATION_FILES)
def test_real_photos_come_out_upright_and_identical(name):
    kind = name.split("_")[0]
    result = ingest((ORIENTATION / name).read_bytes())
    size = (32, 24) if kind == "Landscape" else (24, 32)
    reference = _reference(kind, size)

    for data, w, h in (
        (result.display, result.width, result.height),
        (result.thumb, result.thumb_width, result.thumb_height),
    ):
        im = open_jpeg(data)
        assert im.size == (w, h)
        if kind == "Landscape":
            assert w > h
        else:
            assert h > w
        assert mad(signature(im, size), reference) < 4.0
        # The check has teeth: a mirrored or half-turned picture is far off.
        for wrong in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180):
            assert mad(signature(im.transpose(wrong), size), reference) > 20.0

    if kind == "Landscape":
        assert (result.source_width, result.source_height) == (1800, 1200)
    else:
        assert (result.source_width, result.source_height) == (1200, 1800)
    assert max(result.thumb_width, result.thumb_height) == 320
    assert result.source_format == "JPEG"
    assert_no_metadata(result.display)
    assert_no_metadata(result.thumb)


def test_draft_path_orientation_on_a_big_jpeg():
    """4000x3000 stored sideways (orientation 8): decoded at 1/2 scale, rotated small."""
    upright = textured((3000, 4000))
    stored = upright.transpose(Image.Transpose.ROTATE_270)  # what a camera writes for 8
    data = jpeg_bytes(stored, quality=90, exif=exif_with(orientation=8))
    result = ingest(data)
    assert (result.width, result.height) == (1500, 2000)
    assert (result.thumb_width, result.thumb_height) == (240, 320)
    assert (result.source_width, result.source_height) == (3000, 4000)
    ref = signature(upright, (24, 32))
    assert mad(signature(open_jpeg(result.display), (24, 32)), ref) < 4.0
    assert mad(signature(open_jpeg(result.thumb), (24, 32)), ref) < 4.0


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("size", [(640, 480), (2400, 1800)], ids=["small", "resized"])
@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("with_icc", [False, True], ids=["no-icc", "srgb-icc"])
def test_outputs_carry_no_exif_gps_xmp_icc_or_comment(size, orientation, with_icc):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="21,16.39N"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    extra = {}
    if with_icc:
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = jpeg_bytes(
        textured(size),
        quality=90,
        exif=exif_with(orientation=orientation, taken="2024:03:15 09:30:12", gps=True),
        comment=b"secret comment",
        xmp=xmp,
        **extra,
    )
    # The input really has all of it.
    markers = {(m, p[:4]) for m, p in jpeg_segments(data)}
    assert {(0xE1, b"Exif"), (0xE1, b"http"), (0xFE, b"secr")} <= markers
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)

    result = ingest(data)
    for out in (result.display, result.thumb):
        assert_no_metadata(out)
        assert b"secret comment" not in out
        assert b"GPS" not in out


def test_comment_in_png_text_is_not_carried():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret")
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta/>")
    data = encoded(textured((200, 100)), "PNG", pnginfo=info, exif=exif_with(gps=True))
    result = ingest(data)
    assert_no_metadata(result.display)
    assert b"secret" not in result.display


def test_captured_at_from_datetime_original():
    data = jpeg_bytes(textured(), exif=exif_with(taken="2024:03:15 09:30:12"))
    assert ingest(data).captured_at == datetime(2024, 3, 15, 9, 30, 12)


@pytest.mark.parametrize("taken", [None, "0000:00:00 00:00:00", "yesterday", "    "])
def test_captured_at_absent_or_unparsable_is_none(taken):
    data = jpeg_bytes(textured(), exif=exif_with(taken=taken))
    assert ingest(data).captured_at is None


@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00" + b"\x13\x37 garbage that is not TIFF at all" * 4,
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # IFD offset far past the end
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03",  # cut mid-entry
    ],
)
def test_broken_exif_with_good_pixels_is_accepted(payload):
    good = jpeg_bytes(textured((400, 300)), quality=90)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's "Corrupt EXIF data" must not leak
        result = ingest(splice_app1(good, payload))
    assert (result.width, result.height) == (400, 300)
    assert result.captured_at is None
    assert_no_metadata(result.display)


@pytest.mark.parametrize("orientation", [0, 9, 255])
def test_out_of_range_orientation_is_ignored(orientation):
    data = jpeg_bytes(textured((400, 300)), exif=exif_with(orientation=orientation))
    result = ingest(data)
    assert (result.width, result.height) == (400, 300)


# --------------------------------------------------------------------------- sizes, formats


def test_large_jpeg_is_limited_and_thumb_follows():
    result = ingest(jpeg_bytes(textured((3000, 2000)), quality=90))
    assert (result.width, result.height) == (2000, 1333)
    assert (result.thumb_width, result.thumb_height) == (320, 213)
    assert open_jpeg(result.display).size == (2000, 1333)
    assert open_jpeg(result.thumb).size == (320, 213)
    assert result.source_format == "JPEG"


def test_big_jpeg_is_decoded_at_reduced_scale_and_thumb_comes_from_display(monkeypatch):
    """The speed contract: libjpeg decodes a 4000x3000 photo straight to 2000x1500
    (draft), and the thumbnail is made from the display image, not the original."""
    from fivs.photos import pipeline

    decoded_sizes, resize_inputs = [], []
    make_display, resize_within = pipeline._make_display, pipeline._resize_within

    def spy_make_display(im, *args):
        decoded_sizes.append(im.size)
        return make_display(im, *args)

    def spy_resize_within(im, edge, *args, **kwargs):
        out = resize_within(im, edge, *args, **kwargs)
        resize_inputs.append((im.size, edge, out))
        return out

    monkeypatch.setattr(pipeline, "_make_display", spy_make_display)
    monkeypatch.setattr(pipeline, "_resize_within", spy_resize_within)
    result = ingest(jpeg_bytes(textured((4000, 3000)), quality=90, exif=exif_with(orientation=6)))

    assert decoded_sizes == [(2000, 1500)]  # not 4000x3000
    assert (result.width, result.height) == (1500, 2000)
    (thumb_in, thumb_edge, thumb_out) = resize_inputs[-1]
    assert thumb_edge == 320 and thumb_in == (1500, 2000)  # the upright display image
    assert thumb_out.size == (240, 320)


def test_custom_edges():
    result = ingest(jpeg_bytes(textured((3000, 2000))), display_edge=1000, thumb_edge=100)
    assert (result.width, result.height) == (1000, 667)
    assert (result.thumb_width, result.thumb_height) == (100, 67)


def test_small_png_is_never_upscaled():
    data = encoded(textured((100, 80)), "PNG")
    result = ingest(data)
    assert (result.width, result.height) == (100, 80)
    assert (result.thumb_width, result.thumb_height) == (100, 80)
    assert (result.source_width, result.source_height) == (100, 80)
    assert result.source_format == "PNG"
    assert_no_metadata(result.display)


def test_png_alpha_is_flattened_on_white():
    im = Image.new("RGBA", (200, 100), (200, 20, 20, 255))
    im.paste((0, 0, 0, 0), (100, 0, 200, 100))  # right half fully transparent (black RGB)
    result = ingest(encoded(im, "PNG"))
    out = open_jpeg(result.display)
    assert out.mode == "RGB"
    assert all(c > 240 for c in out.getpixel((150, 50)))
    r, g, b = out.getpixel((50, 50))
    assert r > 180 and g < 60 and b < 60


def test_palette_png_with_transparency_and_16bit_grey_png():
    pal = Image.new("P", (60, 40), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (30, 0, 60, 40))
    pal_png = encoded(pal, "PNG", transparency=1)
    out = open_jpeg(ingest(pal_png).display)
    assert all(c > 240 for c in out.getpixel((45, 20)))

    grey16 = Image.linear_gradient("L").resize((64, 64)).convert("I").point(lambda v: v * 256)
    grey16 = grey16.convert("I;16")
    result = ingest(encoded(grey16, "PNG"))
    out = open_jpeg(result.display)
    assert out.getpixel((32, 2))[0] < 30 and out.getpixel((32, 61))[0] > 220


def _move_exif_chunk_after_idat(png: bytes) -> bytes:
    chunks, pos = [], 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos : pos + 4])[0]
        chunks.append(png[pos : pos + 12 + length])
        pos += 12 + length
    exif = [c for c in chunks if c[4:8] == b"eXIf"]
    rest = [c for c in chunks if c[4:8] != b"eXIf"]
    assert len(exif) == 1
    return png[:8] + b"".join(rest[:-1] + exif + rest[-1:])  # just before IEND


@pytest.mark.parametrize("fmt", ["PNG", "PNG-exif-at-end", "WEBP"])
def test_exif_orientation_applies_to_png_and_webp(fmt):
    upright = textured((300, 200))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # camera-style storage for 6
    params = {"exif": exif_with(orientation=6, taken="2023:12:01 07:00:00")}
    data = encoded(stored, fmt.split("-")[0], **params)
    if fmt == "PNG-exif-at-end":
        data = _move_exif_chunk_after_idat(data)
    result = ingest(data)
    assert (result.width, result.height) == (300, 200)
    assert result.captured_at == datetime(2023, 12, 1, 7, 0, 0)
    assert mad(signature(open_jpeg(result.display), (30, 20)), signature(upright, (30, 20))) < 6.0


def test_webp_is_accepted():
    result = ingest(encoded(textured((800, 600)), "WEBP", quality=80))
    assert result.source_format == "WEBP"
    assert (result.width, result.height) == (800, 600)
    assert_no_metadata(result.display)


def test_webp_with_alpha_is_accepted():
    im = textured((300, 200)).convert("RGBA")
    im.putalpha(128)
    result = ingest(encoded(im, "WEBP", lossless=True))
    assert result.source_format == "WEBP"


def test_heic_is_accepted_and_its_orientation_is_applied_once():
    """Needs a libheif with an HEVC encoder (x265 in the pillow-heif wheel). If this
    build cannot encode HEIC, the test fails loudly rather than being skipped."""
    register_heif()
    register_heif()  # idempotent
    assert _heif_can_encode(), "this pillow-heif build cannot encode HEIC"
    upright = Image.open(ORIENTATION / "Landscape_1.jpg").resize((360, 240))
    stored = Image.open(ORIENTATION / "Landscape_6.jpg").resize((240, 360))  # sideways, EXIF 6
    data = encoded(stored, "HEIF", quality=90, exif=exif_with(orientation=6))
    assert data[4:12] in (b"ftypheic", b"ftypmif1")

    result = ingest(data)
    assert result.source_format == "HEIF"
    assert (result.width, result.height) == (360, 240)
    assert (result.source_width, result.source_height) == (360, 240)
    assert mad(signature(open_jpeg(result.display), (32, 24)), signature(upright, (32, 24))) < 6.0
    assert_no_metadata(result.display)


def test_cmyk_jpeg_is_converted_to_rgb():
    result = ingest(jpeg_bytes(textured((300, 200)).convert("CMYK")))
    assert open_jpeg(result.display).mode == "RGB"


def test_ingest_result_fields():
    data = jpeg_bytes(textured((640, 480)))
    result = ingest(data)
    assert isinstance(result, IngestResult)
    import hashlib

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(AttributeError):
        result.width = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- colour


def test_non_srgb_icc_profile_is_converted():
    swapped = matrix_profile(SRGB_PRIMARIES[2], SRGB_PRIMARIES[1], SRGB_PRIMARIES[0], "R/B swapped")
    red = Image.new("RGB", (64, 48), (200, 30, 30))
    for data in (encoded(red, "PNG", icc_profile=swapped), jpeg_bytes(red, quality=95, icc_profile=swapped)):
        r, g, b = open_jpeg(ingest(data).display).getpixel((32, 24))
        assert b > 150 and r < 60, (r, g, b)  # converted through the profile: now blue


def test_srgb_profile_keeps_colours():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = jpeg_bytes(Image.new("RGB", (64, 48), (200, 30, 30)), quality=95, icc_profile=srgb)
    r, g, b = open_jpeg(ingest(data).display).getpixel((32, 24))
    assert abs(r - 200) < 8 and g < 45 and b < 45


@pytest.mark.parametrize(
    "profile",
    [
        b"definitely not an ICC profile" * 10,
        matrix_profile(*SRGB_PRIMARIES, "ok")[:200],  # cut short
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),  # wrong colour space
    ],
)
def test_broken_or_mismatched_icc_profile_falls_back(profile):
    data = jpeg_bytes(Image.new("RGB", (64, 48), (200, 30, 30)), quality=95, icc_profile=profile)
    r, g, b = open_jpeg(ingest(data).display).getpixel((32, 24))
    assert abs(r - 200) < 8 and g < 45 and b < 45


# --------------------------------------------------------------------------- refusals


def _gif() -> bytes:
    return encoded(textured((40, 30)).convert("P"), "GIF")


def _bmp() -> bytes:
    return encoded(textured((40, 30)), "BMP")


def _tiff() -> bytes:
    return encoded(textured((40, 30)), "TIFF")


def _truncated_real_photo() -> bytes:
    data = (ORIENTATION / "Landscape_1.jpg").read_bytes()
    return data[: len(data) // 2]


def _truncated_big_jpeg() -> bytes:  # goes through the draft (scaled decode) path
    data = jpeg_bytes(textured((4000, 3000)), quality=90)
    return data[: len(data) // 2]


def _truncated_png() -> bytes:
    data = encoded(textured((400, 300)), "PNG")
    return data[: len(data) // 2]


def _jpeg_header_then_junk() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


@pytest.mark.parametrize(
    "make, status, code",
    [
        (lambda: b"", 415, "empty_file"),
        (lambda: b"hello", 415, "not_an_image"),
        (lambda: b"%PDF-1.7\n" + b"x" * 500, 415, "not_an_image"),
        (_gif, 415, "unsupported_type"),
        (_bmp, 415, "unsupported_type"),
        (_tiff, 415, "unsupported_type"),
        (_truncated_real_photo, 422, "corrupt_image"),
        (_truncated_big_jpeg, 422, "corrupt_image"),
        (_truncated_png, 422, "corrupt_image"),
        (_jpeg_header_then_junk, 422, "corrupt_image"),
        (lambda: png_header_only(10_000, 6_000), 422, "too_many_pixels"),  # 60 MP
        (lambda: png_header_only(12_000, 8_000), 422, "too_many_pixels"),  # Pillow warns here
        (lambda: png_header_only(20_000, 10_000), 422, "too_many_pixels"),  # Pillow raises here
    ],
    ids=[
        "empty", "hello", "pdf", "gif", "bmp", "tiff", "truncated-photo", "truncated-draft",
        "truncated-png", "jpeg-junk", "60mp", "96mp", "200mp",
    ],
)
def test_bad_input_is_refused(make, status, code):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    max_pixels = Image.MAX_IMAGE_PIXELS
    filters = list(warnings.filters)
    data = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak a warning either
        with pytest.raises(PhotoError) as caught:
            ingest(data)
    err = caught.value
    assert (err.status, err.code) == (status, code)
    assert err.message.endswith(".") and err.message[0].isupper()
    assert err.to_dict() == {"error": code, "message": err.message}
    assert Image.MAX_IMAGE_PIXELS == max_pixels
    assert warnings.filters == filters


def test_just_under_the_pixel_limit_is_accepted():
    # 8000x6250 = 50,000,000 pixels exactly; mode "1" keeps the PNG small.
    data = encoded(Image.new("1", (8000, 6250), 1), "PNG")
    result = ingest(data)
    assert (result.width, result.height) == (2000, 1562)


def test_unsupported_type_message_names_the_type():
    with pytest.raises(PhotoError) as caught:
        ingest(_gif())
    assert "GIF" in caught.value.message


def test_pipeline_and_storage_do_not_import_flask_or_sqlalchemy():
    for name in ("pipeline.py", "storage.py"):
        tree = ast.parse((PROJECT_ROOT / "fivs/photos" / name).read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module.split(".")[0])
        assert not modules & {"flask", "flask_sqlalchemy", "sqlalchemy", "fivs"}, (name, modules)


# --------------------------------------------------------------------------- storage


@pytest.fixture
def storage(tmp_path) -> FileStorage:
    return FileStorage(tmp_path / "media")


def test_key_for(storage):
    key = storage.key_for("BG-TH01", "0b6a2c1e-audit", "7f3e-photo", "display")
    assert key == "BG-TH01/0b6a2c1e-audit/7f3e-photo-display.jpg"
    assert storage.key_for("S1", "a", "p", "thumb") == "S1/a/p-thumb.jpg"


@pytest.mark.parametrize(
    "site, audit, photo, variant",
    [
        ("..", "a", "p", "display"),
        ("S1", "../etc", "p", "display"),
        ("S1", "a", "p/../../x", "thumb"),
        ("S1", "a", ".hidden", "thumb"),
        ("S1", ".tmp", "p", "thumb"),
        ("", "a", "p", "display"),
        ("S 1", "a", "p", "display"),
        ("S1", "a\\b", "p", "display"),
        ("S1", "a", "p\x00", "display"),
        ("S1", "a", "p", "original"),
        ("S1", "a", "p", "../display"),
    ],
)
def test_key_for_rejects_traversal_and_odd_parts(storage, site, audit, photo, variant):
    with pytest.raises(InvalidKeyError):
        storage.key_for(site, audit, photo, variant)


@pytest.mark.parametrize(
    "key", ["../x.jpg", "S1/../../x.jpg", "/etc/passwd", "S1//x.jpg", ".tmp/x.part", "S1/.x", "", "S1\\x"]
)
def test_reading_rejects_bad_keys(storage, key):
    for method in (storage.path, storage.open, storage.exists, storage.delete, storage.size, storage.etag):
        with pytest.raises(InvalidKeyError):
            method(key)


def test_stage_commit_open(storage):
    key = storage.key_for("S1", "audit-1", "photo-1", "display")
    staged = storage.stage(b"jpeg bytes")
    assert staged.path.is_file()
    assert staged.path.parent == storage.root / ".tmp"  # same filesystem: rename is atomic
    assert staged.size == 10
    assert not storage.exists(key)

    storage.commit(staged, key)
    assert not staged.path.exists()
    assert storage.exists(key)
    assert storage.size(key) == 10
    with storage.open(key) as handle:
        assert handle.read() == b"jpeg bytes"
    assert storage.path(key) == storage.root / "S1/audit-1/photo-1-display.jpg"
    assert storage.path(key).read_bytes() == b"jpeg bytes"


def test_discard_and_delete_are_quiet(storage):
    staged = storage.stage(b"x")
    storage.discard(staged)
    assert not staged.path.exists()
    storage.discard(staged)  # already gone: no error
    storage.delete("S1/a/missing-thumb.jpg")  # missing: no error
    assert not storage.exists("S1/a/missing-thumb.jpg")
    with pytest.raises(FileNotFoundError):
        storage.open("S1/a/missing-thumb.jpg")


def test_commit_replaces_atomically_and_delete_removes(storage):
    key = "S1/a/p-thumb.jpg"
    storage.commit(storage.stage(b"one"), key)
    storage.commit(storage.stage(b"two"), key)
    with storage.open(key) as handle:
        assert handle.read() == b"two"
    storage.delete(key)
    assert not storage.exists(key)


def test_foreign_staged_file_is_refused(storage, tmp_path):
    from fivs.photos.storage import StagedFile

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    with pytest.raises(InvalidKeyError):
        storage.discard(StagedFile(victim, 7, ""))
    with pytest.raises(InvalidKeyError):
        storage.commit(StagedFile(victim, 7, ""), "S1/a/p-thumb.jpg")
    assert victim.read_text() == "keep me"


def test_iter_keys_skips_staging_files(storage):
    assert list(storage.iter_keys()) == []
    storage.commit(storage.stage(b"1"), "S2/a/p-display.jpg")
    storage.commit(storage.stage(b"2"), "S1/a/p-thumb.jpg")
    storage.commit(storage.stage(b"3"), "S1/a/p-display.jpg")
    pending = storage.stage(b"not committed")
    assert pending.path.exists()
    assert list(storage.iter_keys()) == [
        "S1/a/p-display.jpg",
        "S1/a/p-thumb.jpg",
        "S2/a/p-display.jpg",
    ]
    for key in storage.iter_keys():
        assert storage.exists(key)


def test_etag_is_stable_and_follows_content(storage):
    key = "S1/a/p-display.jpg"
    storage.commit(storage.stage(b"first version"), key)
    first = storage.etag(key)
    assert first == storage.etag(key) == FileStorage(storage.root).etag(key)
    assert first.isalnum() and '"' not in first

    storage.commit(storage.stage(b"second version"), key)
    second = storage.etag(key)
    assert second != first
    storage.commit(storage.stage(b"first version"), key)  # same bytes again: same etag
    assert storage.etag(key) == first


def test_purge_staged_removes_only_old_files(storage):
    old = storage.stage(b"old")
    new = storage.stage(b"new")
    past = time.time() - 7200
    os.utime(old.path, (past, past))
    assert storage.purge_staged(older_than_seconds=3600) == 1
    assert not old.path.exists() and new.path.exists()


def test_pipeline_output_round_trips_through_storage(storage):
    result = ingest((ORIENTATION / "Portrait_6.jpg").read_bytes())
    keys = {}
    for variant, data in (("display", result.display), ("thumb", result.thumb)):
        keys[variant] = storage.key_for("S1", "audit", "photo", variant)
        storage.commit(storage.stage(data), keys[variant])
    with Image.open(storage.path(keys["thumb"])) as im:
        assert im.size == (result.thumb_width, result.thumb_height)
    assert storage.size(keys["display"]) == len(result.display)
