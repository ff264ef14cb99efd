"""Image disarm with Pillow: decode, rebuild from the pixels alone, re-encode in the same format.

What goes: EXIF (after applying its orientation, so the picture still looks the same), XMP, ICC profiles, IPTC,
comments, PNG text chunks, and anything appended after the image data (polyglots). Every frame of an animated GIF,
WebP or PNG and every page of a multi-page TIFF is kept, within the pixel budget.

Decompression bombs: the pixel budget is ``Limits.max_decompressed_bytes / 4`` (four bytes a pixel), checked from
the header before any pixel is decoded and again for all frames together; Pillow's own DecompressionBombError is
caught too. Nothing touches the process-wide ``Image.MAX_IMAGE_PIXELS``.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin

from mamoru.sanitize.cdr._common import CdrResult, Context, LimitExceeded, dedupe, ext_of, removed, with_ext

FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Pillow format: (MIME type, file extensions, the first is used when the name has to change)
    "JPEG": ("image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif")),
    "PNG": ("image/png", (".png",)),
    "GIF": ("image/gif", (".gif",)),
    "BMP": ("image/bmp", (".bmp", ".dib")),
    "TIFF": ("image/tiff", (".tif", ".tiff")),
    "WEBP": ("image/webp", (".webp",)),
}
MAX_FRAMES = 1000
_MULTI_FRAME = ("GIF", "TIFF", "WEBP", "PNG")
# TIFF tags that carry metadata rather than pixels: descriptions, camera, software, dates, artist, copyright,
# EXIF / GPS IFDs, XMP, IPTC, Photoshop, ICC.
_TIFF_METADATA_TAGS = frozenset({270, 271, 272, 305, 306, 315, 316, 33432, 34665, 34853, 700, 33723, 34377, 34675})
# Metadata keys Pillow may put into Image.info, and the finding for each.
_METADATA_KEYS: dict[str, str] = {
    "exif": "image:exif",
    "xmp": "image:xmp",
    "XML:com.adobe.xmp": "image:xmp",
    "icc_profile": "image:icc",
    "comment": "image:comment",
    "photoshop": "image:iptc",
    "iptc": "image:iptc",
    "adobe": "image:adobe",
    "mp": "image:mpo",
}
_TIFF_COMPRESSIONS = {"raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits", "group3", "group4",
                      "tiff_jpeg", "jpeg"}


def magic_format(data: bytes) -> str | None:
    """The Pillow format name for the image magic bytes we accept, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in (12, 16, 40, 52, 56, 64,
                                                                                            108, 124):
        return "BMP"
    return None


def _metadata_findings(im: Image.Image, trailing: bool) -> list[str]:
    found = [finding for key, finding in _METADATA_KEYS.items() if im.info.get(key)]
    if any(isinstance(key, str) and key not in _METADATA_KEYS and isinstance(value, str | bytes) and key not in
           ("dpi", "transparency", "duration", "loop", "background", "compression", "jfif", "jfif_version",
            "jfif_unit", "jfif_density", "progressive", "progression", "interlace", "gamma", "version",
            "extension", "aspect", "srgb", "chromaticity", "resolution", "default_image", "disposal", "blend")
           for key, value in im.info.items()):
        found.append("image:text")
    tags = getattr(im, "tag_v2", None)
    if tags is not None and any(tag in _TIFF_METADATA_TAGS for tag in list(tags.keys())):
        found.append("image:tiff-metadata")
    if trailing:
        found.append("image:trailing-data")
    return found


def _clean_copy(frame: Image.Image) -> Image.Image:
    """A new image holding only the pixels (and palette / transparency) of ``frame``: no metadata survives."""
    frame.load()
    if frame.mode == "P":
        rebuilt = Image.frombytes("P", frame.size, frame.tobytes())
        palette = frame.palette
        if palette is not None:
            rawmode = palette.mode if palette.mode in ("RGB", "RGBA") else "RGB"
            rebuilt.putpalette(frame.getpalette(rawmode) or [], rawmode)
    else:
        rebuilt = Image.frombytes(frame.mode, frame.size, frame.tobytes())
    transparency = frame.info.get("transparency")
    # An index or a colour tuple; bytes only make sense as a palette's alpha table.
    if (transparency is not None and not isinstance(transparency, bytes | str)) or \
            (isinstance(transparency, bytes) and frame.mode == "P"):
        rebuilt.info["transparency"] = transparency
    return rebuilt


def _save_options(fmt: str, original: Image.Image, frames: list[Image.Image], durations: list[int]) -> dict[str, Any]:
    opts: dict[str, Any] = {"format": fmt}
    if fmt == "JPEG":
        qtables = getattr(original, "quantization", None)
        if qtables:
            opts["qtables"] = qtables
            sampling = JpegImagePlugin.get_sampling(original)
            if sampling != -1:
                opts["subsampling"] = sampling
        else:
            opts["quality"] = 90
        if original.info.get("progressive") or original.info.get("progression"):
            opts["progressive"] = True
    elif fmt == "TIFF":
        compression = original.info.get("compression")
        if compression in _TIFF_COMPRESSIONS:
            opts["compression"] = "jpeg" if compression == "tiff_jpeg" else compression
    elif fmt == "WEBP":
        opts["quality"] = 90
    elif fmt == "PNG":
        opts["optimize"] = False
    if original.info.get("dpi") and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        opts["dpi"] = original.info["dpi"]
    if len(frames) > 1:
        opts["save_all"] = True
        opts["append_images"] = frames[1:]
        if fmt in ("GIF", "WEBP", "PNG"):
            opts["duration"] = durations
            opts["loop"] = int(original.info.get("loop", 0) or 0)
    elif fmt == "GIF" and original.info.get("duration"):
        opts["duration"] = original.info["duration"]
    return opts


def _encode(fmt: str, original: Image.Image, frames: list[Image.Image], durations: list[int]) -> bytes:
    out = io.BytesIO()
    opts = _save_options(fmt, original, frames, durations)
    try:
        frames[0].save(out, **opts)
    except (OSError, ValueError, KeyError, TypeError):
        if fmt != "TIFF" or "compression" not in opts:
            raise
        opts.pop("compression")  # e.g. group4 on a non-bilevel page: fall back to Pillow's default
        out = io.BytesIO()
        frames[0].save(out, **opts)
    return out.getvalue()


def _end_of_image(data: bytes, fmt: str) -> int | None:
    """Where the image data ends for formats with a clear end marker; None when unknown."""
    if fmt == "PNG":
        pos = data.rfind(b"IEND")
        return pos + 8 if pos >= 0 else None
    if fmt == "JPEG":
        pos = data.rfind(b"\xff\xd9")
        return pos + 2 if pos >= 0 else None
    if fmt == "GIF":
        return len(data.rstrip(b"\x00")) if data.rstrip(b"\x00").endswith(b";") else None
    return None


def disarm_image(data: bytes, filename: str | None, content_type: str | None, ctx: Context) -> CdrResult:
    fmt = magic_format(data)
    if fmt is None:
        return removed("unreadable", ["image:unknown-format"], filename=filename, content_type=content_type)
    max_pixels = max(ctx.limits.max_decompressed_bytes // 4, 1)
    try:
        with warnings.catch_warnings():  # Pillow's complaints about corrupt metadata are not the user's business
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                width, height = im.size
                if width <= 0 or height <= 0:
                    return removed("unreadable", ["image:empty"], filename=filename, content_type=content_type)
                if width * height > max_pixels:
                    raise LimitExceeded("limit:pixels")
                end = _end_of_image(data, fmt)
                findings = _metadata_findings(im, trailing=end is not None and end < len(data))
                frames: list[Image.Image] = []
                durations: list[int] = []
                total = 0
                for index, frame in enumerate(ImageSequence.Iterator(im)):
                    if index > 0 and fmt not in _MULTI_FRAME:
                        findings.append("image:extra-frames")  # e.g. the previews of an MPO camera JPEG
                        break
                    if index >= MAX_FRAMES:
                        raise LimitExceeded("limit:frames")
                    total += frame.size[0] * frame.size[1]
                    if total > max_pixels:
                        raise LimitExceeded("limit:pixels")
                    if index > 0:
                        findings.extend(_metadata_findings(frame, trailing=False))
                    durations.append(int(frame.info.get("duration", 0) or 0))
                    source = frame
                    if index == 0 and "exif" in im.info:
                        source = ImageOps.exif_transpose(frame) or frame
                    frames.append(_clean_copy(source))
                encoded = _encode(fmt, im, frames, durations)
    except LimitExceeded as exc:
        return removed(exc.reason, [exc.reason], filename=filename, content_type=content_type)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return removed("limit:pixels", ["limit:pixels"], filename=filename, content_type=content_type)
    except MemoryError:
        return removed("limit:pixels", ["limit:memory"], filename=filename, content_type=content_type)
    except Exception:  # any decoder error on hostile bytes: OSError, ValueError, SyntaxError, struct.error...
        return removed("unreadable", ["image:unreadable"], filename=filename, content_type=content_type)
    mime, extensions = FORMATS[fmt]
    new_name = filename
    if filename and ext_of(filename) not in extensions:
        findings.append("image:extension-mismatch")
        new_name = with_ext(filename, extensions[0])
    return CdrResult(action="disarmed", data=encoded, filename=new_name, content_type=mime,
                     findings=dedupe(findings))
