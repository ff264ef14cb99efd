"""Stage 1 — parse: the raw bytes into a MIME tree, leniently. Parser defects are recorded, never fatal.

A message over the size limit is not parsed beyond its header block, and a nesting the parser gives up on is
recorded the same way: the limits stage then holds the message.
"""

from __future__ import annotations

import binascii
import bisect
import email
import email.policy
import re
from email.message import Message
from typing import TYPE_CHECKING, Literal

from mamoru.sanitize.stages import b64decode_lenient, param_text, parse_params, raw_header, to_bytes, unfold

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context, Node

# Parts of type message/* that are read as text (reports) or treated as a file, not as an attached message.
REPORT_TYPES = frozenset({
    "message/delivery-status", "message/disposition-notification", "message/feedback-report",
    "message/global-delivery-status", "message/global-disposition-notification", "message/global-headers",
    "message/rfc822-headers", "text/rfc822-headers"})
FILE_MESSAGE_TYPES = frozenset({"message/external-body", "message/partial"})

_TYPE = re.compile(r"\s*([a-z0-9!#$&^_.+-]+)/([a-z0-9!#$&^_.+-]+)")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
HEADER_BLOCK_LIMIT = 1024 * 1024
NESTING_SLACK = 8  # boundary_nesting over-estimates sloppy messages; the real parse judges within the slack
_BOUNDARY_DECLARATION = re.compile(rb'(?i)boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_CLOSE_DELIMITER = re.compile(rb"(?m)^--([^\r\n]{1,200}?)--[ \t]*\r?$")


def run(ctx: Context) -> None:
    raw = ctx.raw
    if len(raw) > ctx.policy.limits.max_message_bytes:
        ctx.message = headers_only(raw)
        ctx.parse_failure = "size"
        return
    nesting = boundary_nesting(raw, ctx.policy.limits.max_depth + NESTING_SLACK)
    if nesting > ctx.policy.limits.max_depth + NESTING_SLACK:
        ctx.message = headers_only(raw)
        ctx.parse_failure = "depth"
        ctx.defect(f"message: multipart boundaries nest about {nesting} levels deep; not parsed")
        return
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except RecursionError:
        ctx.message = headers_only(raw)
        ctx.parse_failure = "depth"
        ctx.defect("message: MIME nesting too deep for the parser")
        return
    ctx.message = message
    build_tree(ctx, message)


def boundary_nesting(raw: bytes, threshold: int) -> int:
    """How deep the multipart boundaries nest, estimated from the bytes alone (an upper bound: a boundary whose
    close delimiter never comes stays open to the end).

    The standard parser checks every line against every enclosing boundary, so its cost grows with lines × depth:
    a hostile message nesting hundreds of levels around a large body would take minutes. Messages this estimate
    puts far beyond the depth limit are held without being parsed; the real parse decides everything else."""
    declarations = [(m.start(), (m.group(1) or m.group(2)).strip()) for m in _BOUNDARY_DECLARATION.finditer(raw)]
    if len(declarations) <= threshold:
        return len(declarations)
    closes: dict[bytes, list[int]] = {}
    for match in _CLOSE_DELIMITER.finditer(raw):
        closes.setdefault(match.group(1).strip(), []).append(match.start())
    events: list[tuple[int, int]] = []
    for start, boundary in declarations:
        ends = closes.get(boundary, [])
        at = bisect.bisect_right(ends, start)
        events += [(start, 1), (ends[at] if at < len(ends) else len(raw), -1)]
    depth = deepest = 0
    for _position, step in sorted(events):
        depth += step
        deepest = max(deepest, depth)
    return deepest


def headers_only(raw: bytes) -> Message:
    """The header block alone (for the report and the notice of a message that is not parsed in full)."""
    match = _HEADER_END.search(raw, 0, HEADER_BLOCK_LIMIT)
    head = raw[: match.end()] if match else raw[:HEADER_BLOCK_LIMIT]
    return email.message_from_bytes(head, policy=email.policy.default)


def content_type(part: Message) -> tuple[str, dict[str, str]]:
    """("type/subtype", params) from the raw header; RFC 2045's default when absent or unreadable."""
    raw = raw_header(part, "content-type")
    main, params = parse_params(raw)
    match = _TYPE.match(main.lower()) if main else None
    if match is None:
        return part.get_default_type(), params if raw else {}
    return f"{match.group(1)}/{match.group(2)}", params


def build_tree(ctx: Context, message: Message) -> None:
    """The Node tree (iteratively: hostile nesting must not exhaust the stack), leaves in document order."""
    from mamoru.sanitize.pipeline import Node

    counter = 0

    def make(part: Message, path: str, depth: int) -> Node:
        nonlocal counter
        ctype, params = content_type(part)
        kind: Literal["multipart", "message", "leaf"]
        if part.is_multipart():
            if ctype in REPORT_TYPES or ctype in FILE_MESSAGE_TYPES:
                kind = "leaf"
            elif ctype.startswith("message/"):
                kind = "message"
            else:
                kind = "multipart"
                if not ctype.startswith("multipart/"):
                    ctype = "multipart/mixed"
        else:
            kind = "leaf"
        node = Node(part=part, path=path, kind=kind, depth=depth, content_type=ctype, params=params, order=counter)
        counter += 1
        if kind == "leaf":
            node.broken = ctype.startswith("multipart/")
            disposition, dparams = parse_params(raw_header(part, "content-disposition"))
            node.disposition = disposition.lower().strip()
            name = dparams.get("filename") or params.get("name")
            if name:
                node.filename = param_text(name).strip() or None
        for defect in part.defects:
            doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
            ctx.defect(f"{'message' if not path else 'part ' + path}: {doc}")
        return node

    root = make(message, "", 0)
    ctx.root = root
    stack: list[tuple[Node, str, bool]] = [(root, "", True)]
    while stack:
        node, prefix, is_root = stack.pop()
        if node.kind == "leaf":
            if is_root:  # a message that is a single part: its body is part "1" (as in IMAP)
                node.path = prefix + "1"
            ctx.leaves.append(node)
            continue
        payload = node.part.get_payload()
        children = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
        pending: list[tuple[Node, str, bool]] = []
        if node.kind == "message":
            children = _reparse_encoded(ctx, node, children)
            base = node.path or "1"  # a top-level message/rfc822 is part 1, as in IMAP
            for inner in children[:1]:
                child = make(inner, f"{base}/msg", node.depth + 1)
                node.children.append(child)
                pending.append((child, f"{base}/msg/", True))
        else:
            for index, sub in enumerate(children, 1):
                child = make(sub, f"{prefix}{index}", node.depth + 1)
                node.children.append(child)
                pending.append((child, f"{prefix}{index}.", False))
        ctx.entities += len(node.children)
        if node.children:
            ctx.max_depth = max(ctx.max_depth, node.depth + 1)
        if ctx.entities > 4 * ctx.policy.limits.max_parts + 1000:
            return  # enough to know the limit is exceeded; don't spend more on a hostile tree
        stack.extend(reversed(pending))
    # Orders were given in creation order (breadth-wise per level); renumber in document order for the report.
    _renumber(root)


def _reparse_encoded(ctx: Context, node: Node, children: list[Message]) -> list[Message]:
    """An attached message sent base64- or quoted-printable-encoded (RFC 2046 forbids it; mailers do it): the
    parser read the encoded text as a message; decode it and parse again."""
    cte = (raw_header(node.part, "content-transfer-encoding") or "").strip().lower()
    if cte not in {"base64", "quoted-printable"} or not children:
        return children
    inner = children[0]
    payload = vars(inner).get("_payload")
    if list(inner.raw_items()) or not isinstance(payload, str):
        return children  # it did parse as a message: leave it
    encoded = to_bytes(payload)
    try:
        decoded = b64decode_lenient(encoded) if cte == "base64" else binascii.a2b_qp(encoded)
        message = email.message_from_bytes(decoded, policy=email.policy.default)
    except (RecursionError, binascii.Error, ValueError):
        ctx.defect(f"part {node.path or '1'}: {cte}-encoded attached message could not be read")
        return children
    ctx.defect(f"part {node.path or '1'}: attached message was {cte}-encoded; decoded and read")
    return [message]


def _renumber(root: Node) -> None:
    order = 0
    stack = [root]
    while stack:
        node = stack.pop()
        node.order = order
        order += 1
        stack.extend(reversed(node.children))


def decode_payload(ctx: Context, node: Node) -> bytes:
    """The part's bytes with its Content-Transfer-Encoding undone (leniently; never raising)."""
    part = node.part
    payload = vars(part).get("_payload")
    if isinstance(payload, list):  # a report: header blocks, read back as text
        return _flatten_blocks(payload)
    if payload is None:
        return b""
    data = to_bytes(payload) if isinstance(payload, str) else bytes(payload)
    cte = (raw_header(part, "content-transfer-encoding") or "").strip().lower()
    cte = cte.split(";", 1)[0].split()[0] if cte.split() else ""
    if cte == "base64":
        return b64decode_lenient(data)
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(data)
        except (binascii.Error, ValueError):
            ctx.defect(f"part {node.path}: quoted-printable could not be decoded; kept as is")
            return data
    if cte in {"x-uuencode", "uuencode", "uue", "x-uue"}:
        try:
            decoded = part.get_payload(decode=True)
        except Exception:  # the stdlib's uudecode on hostile input
            decoded = None
        if isinstance(decoded, bytes):
            return decoded
        ctx.defect(f"part {node.path}: uuencoded data could not be decoded; kept as is")
    return data


def _flatten_blocks(blocks: list[object]) -> bytes:
    out: list[str] = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        lines = [f"{key}: {unfold(value if isinstance(value, str) else str(value))}"
                 for key, value in block.raw_items()]
        inner = vars(block).get("_payload")
        if isinstance(inner, str) and inner.strip():
            lines.append("")
            lines.append(inner)
        out.append("\n".join(lines))
    return "\n\n".join(out).encode("utf-8", "surrogateescape")
