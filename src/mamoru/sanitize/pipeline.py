"""The sanitizer's pipeline: one shared context, the stages in the one order they run, and ``sanitize_message``.

Each stage is a small function ``run(ctx) -> None`` in its own module under ``stages/``. A stage may stop the
message with ``ctx.hold(code, detail)``: the remaining stages are skipped and the recipient gets a short notice
(built by ``stages.output.notice``) instead of the message, which stays in quarantine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from typing import Literal

from mamoru.sanitize.policy import Policy
from mamoru.sanitize.report import PartAction, Report, Result
from mamoru.sanitize.stages import attachments, body, headers, limits, output, parse

Stage = Callable[["Context"], None]

# The order is the design: parse leniently; decode the headers (the notice needs them even when the message is
# held); enforce the limits before any part is decoded; pick and convert the body text; apply the attachment
# policy (remove / disarm via cdr / hold); write the new message.
STAGES: tuple[Stage, ...] = (parse.run, headers.run, limits.run, body.run, attachments.run, output.run)

MAX_DEFECTS = 100
_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass(eq=False)
class Node:
    """One MIME entity of the parsed message. Leaves carry the decoded bytes (lazily) and get one PartAction."""

    part: Message
    path: str  # "" for the top-level message; an attached message's root carries its wrapper's path
    kind: Literal["multipart", "message", "leaf"]
    depth: int
    content_type: str  # "type/subtype", lower case, defaulted as RFC 2045 says
    params: dict[str, str]
    order: int
    children: list[Node] = field(default_factory=list)
    disposition: str = ""  # "attachment", "inline" or ""
    filename: str | None = None
    broken: bool = False  # a multipart whose boundary never came: read as text
    role: str = ""  # set by the body stage: "body", "attachment" or "alternative" (an alternative not shown)
    data: bytes | None = None  # decoded payload, filled by ``Context.payload``
    text: tuple[str, str, str, str] | None = None  # body stage: (text, action, detail, note)


@dataclass(eq=False)
class OutPart:
    """An attachment that goes out with the sanitized message (disarmed, or found clean by cdr)."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass(eq=False)
class Context:
    raw: bytes
    policy: Policy
    quarantine_id: str
    original_sha256: str
    message: Message | None = None
    root: Node | None = None
    leaves: list[Node] = field(default_factory=list)
    entities: int = 0  # MIME entities below the top level (containers and leaves)
    max_depth: int = 0
    parse_failure: str = ""  # "size" (not parsed: too big) or "depth" (the parser gave up on the nesting)
    defects: list[str] = field(default_factory=list)
    # headers stage
    subject: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    message_id: str = ""
    date: str = ""
    out_headers: list[tuple[str, str]] = field(default_factory=list)  # kept headers, encoded for output
    # body and attachments stages
    blocks: list[str] = field(default_factory=list)
    actions: dict[int, PartAction] = field(default_factory=dict)  # by Node.order
    reasons_ja: dict[int, str] = field(default_factory=dict)  # what the footer says for a removed/disarmed part
    listings: dict[int, tuple[str, ...]] = field(default_factory=dict)  # archive members, by Node.order
    renamed: dict[int, str] = field(default_factory=dict)  # new filename of a disarmed part, by Node.order
    categories: dict[int, str] = field(default_factory=dict)  # cdr category of an attachment, by Node.order
    html_converted: bool = False
    out_parts: list[OutPart] = field(default_factory=list)
    # outcome
    hold_code: str = ""
    hold_detail: str = ""
    output: bytes = b""

    @property
    def held(self) -> bool:
        return bool(self.hold_code)

    def hold(self, code: str, detail: str = "") -> None:
        """Stop the message: it stays in quarantine and the recipient gets a notice."""
        if not self.hold_code:
            self.hold_code, self.hold_detail = code, detail

    @property
    def hold_reason(self) -> str:
        return f"{self.hold_code}: {self.hold_detail}" if self.hold_detail else self.hold_code

    def defect(self, text: str) -> None:
        if len(self.defects) < MAX_DEFECTS:
            self.defects.append(text)
        elif len(self.defects) == MAX_DEFECTS:
            self.defects.append("further defects not listed")

    def payload(self, node: Node) -> bytes:
        if node.data is None:
            node.data = parse.decode_payload(self, node)
        return node.data

    def act(self, node: Node, action: str, detail: str, *, reason_ja: str = "") -> None:
        """Record what happened to a leaf (one PartAction per original leaf; the first record wins)."""
        if node.order in self.actions:
            return
        data = self.payload(node)
        self.actions[node.order] = PartAction(
            path=node.path, content_type=node.content_type, filename=node.filename, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), action=action, detail=detail)
        if reason_ja:
            self.reasons_ja[node.order] = reason_ja

    def report(self) -> Report:
        if self.held:  # nothing of a held message is delivered: every part is held, whatever was decided before
            for order, action in list(self.actions.items()):
                if action.action != "held":
                    self.actions[order] = replace(action, action="held", detail="message held")
            for leaf in self.leaves:
                self.act(leaf, "held", "message held")
        parts = tuple(self.actions[k] for k in sorted(self.actions))
        return Report(
            quarantine_id=self.quarantine_id, status="held" if self.held else "sanitized",
            original_sha256=self.original_sha256, original_size=len(self.raw), subject=self.subject,
            sender=self.sender, recipients=self.recipients, message_id=self.message_id, parts=parts,
            defects=tuple(self.defects), hold_reason=self.hold_reason)


def quarantine_id_for(raw: bytes) -> str:
    """The default quarantine id: deterministic, so the same message always gets the same id."""
    return "Q" + hashlib.sha256(raw).hexdigest()[:20]


def run(ctx: Context) -> None:
    for stage in STAGES:
        stage(ctx)
        if ctx.held:
            ctx.output = output.notice(ctx)
            return


def sanitize_message(raw: bytes, policy: Policy | None = None, *, quarantine_id: str | None = None) -> Result:
    """Sanitize one RFC 822 message. Never raises for any input bytes: what cannot be handled is held."""
    raw = bytes(raw)
    policy = policy if policy is not None else Policy()
    qid = _SAFE_ID.sub("_", quarantine_id)[:64] if quarantine_id else quarantine_id_for(raw)
    ctx = Context(raw=raw, policy=policy, quarantine_id=qid or quarantine_id_for(raw),
                  original_sha256=hashlib.sha256(raw).hexdigest())
    try:
        run(ctx)
    except Exception as exc:  # the promise: no exception reaches the relay; the message is held instead
        ctx.defect(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        ctx.hold_code, ctx.hold_detail = "internal-error", type(exc).__name__
        try:
            ctx.output = output.notice(ctx)
        except Exception:
            ctx.output = output.minimal_notice(ctx)
    try:
        report = ctx.report()
    except Exception as exc:
        ctx.defect(f"internal error: {type(exc).__name__} while writing the report")
        ctx.actions.clear()
        report = Report(quarantine_id=ctx.quarantine_id, status="held", original_sha256=ctx.original_sha256,
                        original_size=len(raw), subject=ctx.subject, sender=ctx.sender,
                        recipients=ctx.recipients, message_id=ctx.message_id, parts=(),
                        defects=tuple(ctx.defects), hold_reason="internal-error")
        ctx.hold_code = "internal-error"
        ctx.output = output.minimal_notice(ctx)
    return Result(report=report, message=ctx.output)
