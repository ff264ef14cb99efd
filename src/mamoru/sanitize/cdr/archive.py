"""Archives: ZIP is opened, listed, each member disarmed recursively, and the zip rebuilt; other formats are removed.

- Encrypted ZIP (PPAP: any member with the encryption flag) -> removed, reason ``encrypted-archive``, with the listing.
- 7z, RAR, gzip, bzip2, xz, tar, CAB, LZH -> removed, reason ``archive-unsupported`` (we cannot look inside).
- Otherwise every member is classified by its bytes and disarmed as if it had been attached on its own (nested zips
  recurse up to ``Limits.max_depth``); members that come back removed are dropped and named in the findings
  (``zip:removed <name> (<reason>)``), disarmed ones replace the original (and may be renamed: a.docm -> a.docx).
- A ZIP is always rebuilt, even when every member is kept: what reaches the recipient is exactly what was inspected
  (no comment, no extra fields, no data hidden between entries, no local/central header disagreement, no symlinks,
  no absolute or ``..`` paths). Member names without the UTF-8 flag are read as CP932 (Japanese Windows) when they
  decode as such, and written back as UTF-8.
- Size and ratio limits apply to the archive's declared sizes and to the bytes really decompressed; the total across
  nested archives is bounded by ``Limits.max_decompressed_bytes``.
"""

from __future__ import annotations

import io
import stat
import zipfile

from mamoru.sanitize.cdr._common import (
    CdrResult,
    Context,
    LimitExceeded,
    Unreadable,
    ZipReader,
    dedupe,
    removed,
)

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_UTF8_FLAG = 0x800


def other_archive_kind(data: bytes) -> str | None:
    """The name of a non-ZIP archive format recognised by its magic bytes, or None."""
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if data.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if data.startswith(b"BZh") and data[3:4].isdigit():
        return "bzip2"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data.startswith(b"MSCF\x00\x00\x00\x00"):
        return "cab"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if len(data) >= 7 and data[2:4] == b"-l" and data[6:7] == b"-" and data[4:5] in (b"h", b"z"):
        return "lzh"
    if data[257:262] == b"ustar":
        return "tar"
    return None


def display_name(info: zipfile.ZipInfo) -> str:
    """The member name as the sender's system meant it: UTF-8 when flagged, else CP932 when it decodes, else CP437."""
    name = info.filename
    if info.flag_bits & _UTF8_FLAG or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def safe_path(name: str) -> str:
    """A relative path without drive, root, '.' or '..' components; '' when nothing is left."""
    parts = name.replace("\\", "/").split("/")
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        parts = parts[1:]
    clean = [part for part in parts if part not in ("", ".", "..")]
    return "/".join(clean)


def disarm_archive(data: bytes, filename: str | None, content_type: str | None, ctx: Context) -> CdrResult:
    kind = other_archive_kind(data)
    if kind is not None or not data.startswith(ZIP_MAGICS):
        return removed("archive-unsupported", [f"archive:{kind or 'unknown'}"], filename=filename,
                       content_type=content_type)
    try:
        reader = ZipReader(data, ctx)
    except LimitExceeded as exc:
        return removed(exc.reason, [exc.reason], filename=filename, content_type=content_type,
                       listing=_listing_or_empty(data))
    files = [info for info in reader.infos if not info.is_dir()]
    listing = tuple(display_name(info) for info in files)
    if reader.encrypted():
        return removed("encrypted-archive", ["zip:encrypted"], filename=filename, content_type=content_type,
                       listing=listing)
    if reader.duplicates():
        return removed("unreadable", ["zip:duplicate-name"], filename=filename, content_type=content_type,
                       listing=listing)
    try:
        built, findings = _rebuild(reader, ctx)
    except LimitExceeded as exc:
        return removed(exc.reason, [exc.reason], filename=filename, content_type=content_type, listing=listing)
    except Unreadable:
        return removed("unreadable", ["zip:unreadable"], filename=filename, content_type=content_type,
                       listing=listing)
    return CdrResult(action="disarmed", data=built, filename=filename, content_type=content_type or "application/zip",
                     findings=dedupe(findings), listing=listing)


def _listing_or_empty(data: bytes) -> tuple[str, ...]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return tuple(display_name(info) for info in zf.infolist() if not info.is_dir())
    except Exception:  # the listing is a courtesy; an unreadable directory just gives none
        return ()


def _rebuild(reader: ZipReader, ctx: Context) -> tuple[bytes, list[str]]:
    findings: list[str] = []
    out = io.BytesIO()
    written: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in reader.infos:
            shown = display_name(info)
            name = safe_path(shown)
            if name != shown.rstrip("/") and name != shown:
                findings.append(f"zip:unsafe-path {shown}")
            if not name:
                continue
            if info.is_dir():
                if name + "/" not in written:
                    zf.writestr(_zipinfo(name + "/", info), b"")
                    written.add(name + "/")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                findings.append(f"zip:removed {shown} (symlink)")
                continue
            member = reader.read(info)
            try:
                child = ctx.child()
            except LimitExceeded:
                findings.append(f"zip:removed {shown} (limit:depth)")
                continue
            from mamoru.sanitize.cdr import classify  # the package imports this module

            category = classify(member, name, None)
            result = ctx.dispatch(member, category, name.rsplit("/", 1)[-1], None, child)
            if result.action == "removed" or result.data is None:
                findings.append(f"zip:removed {shown} ({result.reason or 'removed'})")
                findings.extend(result.findings)
                continue
            out_name = name
            if result.action == "disarmed":
                findings.append(f"zip:disarmed {shown}")
                findings.extend(result.findings)
                if result.filename:
                    directory = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
                    candidate = directory + result.filename
                    if candidate not in written:
                        out_name = candidate
            if out_name in written:
                findings.append(f"zip:removed {shown} (duplicate)")
                continue
            zf.writestr(_zipinfo(out_name, info), result.data)
            written.add(out_name)
    return out.getvalue(), findings


def _zipinfo(name: str, original: zipfile.ZipInfo) -> zipfile.ZipInfo:
    year, month, day, hour, minute, second = original.date_time
    if not (1980 <= year <= 2107 and 1 <= month <= 12 and 1 <= day <= 31):
        year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    info = zipfile.ZipInfo(name, date_time=(year, month, day, min(hour, 23), min(minute, 59), min(second, 59)))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o40755 if name.endswith("/") else 0o100644) << 16)
    if name.endswith("/"):
        info.external_attr |= 0x10  # MS-DOS directory attribute
    return info
