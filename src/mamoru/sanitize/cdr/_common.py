"""Shared pieces of the CDR package: the result type, limits bookkeeping, safe XML and zip reading.

Nothing here raises to the caller of :func:`mamoru.sanitize.cdr.disarm`: the two exceptions below are internal and
are turned into a ``removed`` result by the dispatcher.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from lxml import etree

if TYPE_CHECKING:
    from mamoru.sanitize.policy import Limits

Category = Literal["pdf", "office", "image", "ole", "archive", "other"]
Action = Literal["disarmed", "removed", "kept"]

# Total members of all zip containers looked at in one disarm call (nested archives and embedded packages included).
MAX_MEMBERS = 10_000
# The decompression ratio is only enforced past this many decompressed bytes: a 300-byte zip holding 40 kB of
# repetitive text is not a bomb, and a bomb has to grow past this to hurt anyone.
RATIO_FLOOR_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CdrResult:
    action: Action  # kept = nothing active was found and the type is safe as is
    data: bytes | None  # the disarmed file (None when removed)
    filename: str | None  # may change: report.docm -> report.docx
    content_type: str | None
    findings: tuple[str, ...]  # what was removed/found: short English codes ("pdf:/JavaScript", "zip:encrypted")
    reason: str = ""  # why removed ("encrypted-archive", "macro-ole", "unreadable", "limit:ratio", ...)
    listing: tuple[str, ...] = ()  # archives: the member names (listed in the footer)


class LimitExceeded(Exception):
    """A size, ratio, depth or count limit was hit; ``reason`` is the English code reported ("limit:ratio")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreadable(Exception):
    """The file cannot be parsed as the type it claims to be."""


Dispatch = Callable[[bytes, Category, "str | None", "str | None", "Context"], CdrResult]


@dataclass
class _Totals:
    """Counters shared by one top-level disarm call and everything it recurses into."""

    decompressed: int = 0
    members: int = 0


@dataclass
class Context:
    """What a file-type handler needs besides the bytes: the limits, the nesting depth and the shared totals."""

    limits: Limits
    dispatch: Dispatch
    depth: int = 0
    totals: _Totals = field(default_factory=_Totals)

    def child(self) -> Context:
        """The context for a file found inside this one (archive member, embedded package)."""
        if self.depth + 1 >= self.limits.max_depth:
            raise LimitExceeded("limit:depth")
        return Context(self.limits, self.dispatch, self.depth + 1, self.totals)

    def charge(self, nbytes: int) -> None:
        """Count decompressed bytes against the limit shared by the whole call tree."""
        self.totals.decompressed += nbytes
        if self.totals.decompressed > self.limits.max_decompressed_bytes:
            raise LimitExceeded("limit:size")


def removed(reason: str, findings: Iterable[str] = (), *, filename: str | None = None,
            content_type: str | None = None, listing: Iterable[str] = ()) -> CdrResult:
    return CdrResult(action="removed", data=None, filename=filename, content_type=content_type,
                     findings=dedupe(findings), reason=reason, listing=tuple(listing))


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    """The items in first-seen order, each once."""
    return tuple(dict.fromkeys(items))


def ext_of(filename: str | None) -> str:
    """The lower-case extension with its dot ('.docm'), or '' when there is none."""
    if not filename:
        return ""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    return "." + base.rsplit(".", 1)[-1].lower()


def with_ext(filename: str | None, new_ext: str) -> str | None:
    """``filename`` with its extension replaced by ``new_ext`` (which includes the dot)."""
    if not filename:
        return filename
    old = ext_of(filename)
    stem = filename[: len(filename) - len(old)] if old else filename
    return stem + new_ext


# --- XML -------------------------------------------------------------------------------------------------------------

_DOCTYPE_MARKERS = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"),
                    b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))


def has_doctype(data: bytes) -> bool:
    """True when the XML declares a DTD or entities (never in genuine OOXML; the classic XML-bomb carrier)."""
    return any(marker in data for marker in _DOCTYPE_MARKERS)


def xml_parser() -> etree.XMLParser:
    """A parser that loads no DTD, expands no entity, touches no network and refuses huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_blank_text=False)


def parse_xml(data: bytes) -> etree._Element:
    """Parse one XML part; a DTD, entity declaration or syntax error makes it :class:`Unreadable`."""
    if has_doctype(data):
        raise Unreadable("xml-doctype")
    try:
        root = etree.fromstring(data, parser=xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Unreadable("xml-syntax") from exc
    if root is None:
        raise Unreadable("xml-empty")
    return root


def serialize_xml(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


# --- zip -------------------------------------------------------------------------------------------------------------

ZIP_ENCRYPTED_FLAG = 0x1


class ZipReader:
    """A zip archive opened for reading under the limits.

    Checks the central directory first (declared sizes, declared ratio, member count, duplicate names) and then counts
    the bytes really produced while reading each member, since headers can lie.
    """

    def __init__(self, data: bytes, ctx: Context) -> None:
        self.ctx = ctx
        self.container_size = max(len(data), 1)
        self.produced = 0
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            self.infos = self.zf.infolist()
        except Exception as exc:  # BadZipFile, OSError, ValueError, struct.error... on a broken central directory
            raise Unreadable("zip") from exc
        ctx.totals.members += len(self.infos)
        if ctx.totals.members > MAX_MEMBERS:
            raise LimitExceeded("limit:count")
        declared = sum(max(info.file_size, 0) for info in self.infos)
        self._check(declared)
        ctx_limit = ctx.limits.max_decompressed_bytes - ctx.totals.decompressed
        if declared > ctx_limit:
            raise LimitExceeded("limit:size")

    def _check(self, total: int) -> None:
        limits = self.ctx.limits
        if total > limits.max_decompressed_bytes:
            raise LimitExceeded("limit:size")
        if total > RATIO_FLOOR_BYTES and total > limits.max_ratio * self.container_size:
            raise LimitExceeded("limit:ratio")

    def encrypted(self) -> list[zipfile.ZipInfo]:
        return [info for info in self.infos if info.flag_bits & ZIP_ENCRYPTED_FLAG]

    def duplicates(self) -> list[str]:
        seen: set[str] = set()
        dups: list[str] = []
        for info in self.infos:
            key = info.filename.lower()
            if key in seen:
                dups.append(info.filename)
            seen.add(key)
        return dups

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes, counted chunk by chunk against the container's and the call's limits."""
        if info.flag_bits & ZIP_ENCRYPTED_FLAG:
            raise Unreadable("zip-encrypted-member")
        out = bytearray()
        try:
            with self.zf.open(info) as fh:
                while True:
                    chunk = fh.read(_CHUNK)
                    if not chunk:
                        break
                    out += chunk
                    self.produced += len(chunk)
                    self._check(self.produced)
                    self.ctx.charge(len(chunk))
        except LimitExceeded:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, lzma/bz2 errors, OSError, EOFError, CRC mismatch...
            raise Unreadable("zip-member") from exc
        return bytes(out)
