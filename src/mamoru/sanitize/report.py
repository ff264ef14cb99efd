"""What the sanitizer did to one message: the report the relay stores next to the original in quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ACTIONS = ("converted", "removed", "disarmed", "kept", "held")


@dataclass(frozen=True)
class PartAction:
    """One entry per original leaf part (body parts and attachments, recursively)."""

    path: str  # MIME path like "1", "2.1", "3/msg/1" (inside an attached message)
    content_type: str
    filename: str | None
    size: int
    sha256: str  # of the original decoded part bytes
    action: str  # "kept" | "converted" (html->text, charset) | "removed" | "disarmed" | "held"
    detail: str  # short English: what/why, e.g. "html to text", "pdf:/JavaScript removed", "encrypted-archive"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "content_type": self.content_type, "filename": self.filename, "size": self.size,
                "sha256": self.sha256, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class Report:
    quarantine_id: str
    status: Literal["sanitized", "held"]  # held = the whole message is held (limits exceeded or policy "hold")
    original_sha256: str
    original_size: int
    subject: str  # decoded
    sender: str  # decoded From, as displayed ("山田 太郎 <yamada@example.jp>")
    recipients: tuple[str, ...]  # the addresses of To + Cc (header view; the envelope is the relay's business)
    message_id: str
    parts: tuple[PartAction, ...]
    defects: tuple[str, ...]  # parser defects and recoveries, human-readable English
    hold_reason: str = ""

    def counts(self) -> dict[str, int]:
        """How many original parts got each action: {"converted", "removed", "disarmed", "kept", "held"}."""
        counts = dict.fromkeys(ACTIONS, 0)
        for part in self.parts:
            counts[part.action] = counts.get(part.action, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict with stable keys."""
        return {
            "quarantine_id": self.quarantine_id,
            "status": self.status,
            "hold_reason": self.hold_reason,
            "original_sha256": self.original_sha256,
            "original_size": self.original_size,
            "subject": self.subject,
            "sender": self.sender,
            "recipients": list(self.recipients),
            "message_id": self.message_id,
            "counts": self.counts(),
            "parts": [part.to_json() for part in self.parts],
            "defects": list(self.defects),
        }


@dataclass(frozen=True)
class Result:
    report: Report
    # The sanitized message; when report.status == "held", a short notice instead (same From/To, Subject prefixed
    # "[保留] ", Japanese text giving the quarantine id and the reason) so the recipient can ask for release.
    message: bytes
