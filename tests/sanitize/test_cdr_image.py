"""Image disarm: re-encoded images reopen in Pillow, look the same and carry no metadata."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageSequence, PngImagePlugin

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits


def exif_with_location(*, rotated: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0131] = "Secret Editor 1.0"  # Software
    if rotated:
        exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return exif


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_jpeg_loses_exif_comment_icc_and_appended_zip_but_keeps_its_look() -> None:
    picture = Image.new("RGB", (80, 40), (200, 30, 30))
    data = encode(picture, "JPEG", exif=exif_with_location(rotated=True), comment=b"internal note",
                  icc_profile=b"\0" * 128, quality=95) + b"PK\x03\x04 appended archive"
    assert classify(data, "photo.jpg", "image/jpeg") == "image"
    result = disarm(data, category="image", filename="photo.jpg", content_type="image/jpeg", limits=Limits())
    assert result.action == "disarmed"
    for finding in ("image:exif", "image:comment", "image:icc", "image:trailing-data"):
        assert finding in result.findings
    assert result.data is not None
    assert b"PK\x03\x04" not in result.data
    assert b"Secret Editor" not in result.data and b"internal note" not in result.data
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.format == "JPEG"
        assert dict(clean.getexif()) == {}
        assert "icc_profile" not in clean.info and "comment" not in clean.info
        assert clean.size == (40, 80)  # the orientation was applied before the EXIF went
        red, green, blue = clean.convert("RGB").getpixel((20, 40))
        assert red > 150 and green < 80 and blue < 80


def test_png_loses_text_exif_and_icc_and_keeps_exact_pixels() -> None:
    picture = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    picture.putpixel((3, 4), (10, 20, 30, 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "tracking id 1234")
    data = encode(picture, "PNG", pnginfo=info, exif=exif_with_location(), icc_profile=b"\0" * 128)
    result = disarm(data, category="image", filename="a.png", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.data is not None
    assert b"tracking id" not in result.data
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.format == "PNG"
        assert dict(clean.getexif()) == {}
        assert "Comment" not in clean.info and "icc_profile" not in clean.info
        assert clean.getpixel((3, 4)) == (10, 20, 30, 255)
        assert clean.getpixel((0, 0)) == (0, 0, 0, 0)


def test_animated_gif_keeps_every_frame() -> None:
    frames = [Image.new("P", (20, 20), index) for index in range(3)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0,
                  comment=b"gif comment")
    result = disarm(data, category="image", filename="anim.gif", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.data is not None
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.format == "GIF"
        assert clean.n_frames == 3
        colours = [frame.convert("RGB").getpixel((5, 5)) for frame in ImageSequence.Iterator(clean)]
        assert colours == [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
        assert "comment" not in clean.info


def test_multipage_tiff_keeps_pages_and_drops_descriptive_tags() -> None:
    pages = [Image.new("L", (30, 20), shade) for shade in (0, 128, 255)]
    tags = {270: "scanned by Secret Scanner", 271: "ACME", 305: "Fax 2.0"}
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], tiffinfo=tags)
    result = disarm(data, category="image", filename="fax.tif", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert "image:tiff-metadata" in result.findings
    assert result.data is not None
    assert b"Secret Scanner" not in result.data
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.n_frames == 3
        assert not {270, 271, 305} & set(clean.tag_v2.keys())


@pytest.mark.parametrize("fmt", ["WEBP", "BMP"])
def test_other_formats_are_reencoded_in_the_same_format(fmt: str) -> None:
    options = {"exif": exif_with_location()} if fmt == "WEBP" else {}
    data = encode(Image.new("RGB", (12, 10), (0, 0, 255)), fmt, **options)
    result = disarm(data, category="image", filename=f"x.{fmt.lower()}", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.data is not None
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.format == fmt
        assert dict(clean.getexif()) == {}
        assert clean.size == (12, 10)


def test_a_png_named_jpg_comes_back_named_png() -> None:
    data = encode(Image.new("L", (4, 4)), "PNG")
    result = disarm(data, category="image", filename="scan.jpg", content_type="image/jpeg", limits=Limits())
    assert (result.filename, result.content_type) == ("scan.png", "image/png")
    assert "image:extension-mismatch" in result.findings


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_decompression_bomb_is_removed_before_decoding() -> None:
    bomb = png_header_only(6_000, 6_000)  # 36 M pixels (144 MB decoded) announced in a few dozen bytes
    with Image.open(io.BytesIO(bomb)) as announced:
        assert announced.size == (6_000, 6_000)
    result = disarm(bomb, category="image", filename="bomb.png", content_type=None, limits=Limits())
    assert (result.action, result.reason, result.data) == ("removed", "limit:pixels", None)
    small = encode(Image.new("RGB", (600, 600)), "PNG")
    tight = disarm(small, category="image", filename="s.png", content_type=None,
                   limits=Limits(max_decompressed_bytes=1_000_000))  # 250 000 pixels allowed
    assert (tight.action, tight.reason) == ("removed", "limit:pixels")


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"\xff\xd8\xff\xe0 broken", b"GIF89a",
                                  b"BM" + b"\0" * 60, b"RIFF\0\0\0\0WEBPVP8 "])
def test_broken_images_are_removed_as_unreadable(data: bytes) -> None:
    result = disarm(data, category="image", filename="x.img", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "unreadable")


def test_pillows_own_bomb_guard_is_caught_when_the_policy_allows_more() -> None:
    bomb = png_header_only(20_000, 20_000)  # past Pillow's hard limit of ~179 M pixels
    result = disarm(bomb, category="image", filename="bomb.png", content_type=None,
                    limits=Limits(max_decompressed_bytes=10**12))
    assert (result.action, result.reason) == ("removed", "limit:pixels")
