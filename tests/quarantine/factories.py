"""Quarantine rows for tests: a mail item as the ingest would write it, a release request, the city's settings."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.utils import timezone

from mamoru.core.models import Person
from mamoru.quarantine.choices import ApproverRole, ItemStatus, ReleaseMode
from mamoru.quarantine.models import GatewaySettings, QuarantineItem, ReleaseRequest

DOMAIN = "test-city.example.lg.jp"


def settings_for(person: Person, *, approver: str = ApproverRole.SECTION_MANAGER,
                 mode: str = ReleaseMode.DELIVER, retention_days: int = 90) -> GatewaySettings:
    city = person.org_unit.municipality
    gs, _ = GatewaySettings.objects.update_or_create(municipality=city, defaults={
        "domains": DOMAIN, "approver_role": approver, "release_mode": mode, "retention_days": retention_days})
    return gs


def report_json(*, quarantine_id: str, sha: str, subject: str = "請求書の送付", status: str = "sanitized",
                parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "quarantine_id": quarantine_id, "status": status, "original_sha256": sha, "original_size": 2048,
        "subject": subject, "sender": "取引先 <sender@example.com>", "recipients": [], "message_id": "<m1@example.com>",
        "defects": [], "hold_reason": "",
        "parts": parts if parts is not None else [
            {"path": "1", "content_type": "text/html", "filename": None, "size": 900, "sha256": "a" * 64,
             "action": "converted", "detail": "html to text"},
            {"path": "2", "content_type": "application/pdf", "filename": "請求書.pdf", "size": 1100,
             "sha256": "b" * 64, "action": "removed", "detail": "type-not-allowed"}],
    }


def item_for(person: Person, *, raw: bytes | None = None, subject: str = "請求書の送付",
             status: str = ItemStatus.SANITIZED, parts: list[dict[str, Any]] | None = None,
             received_at: dt.datetime | None = None, **extra: Any) -> QuarantineItem:
    settings_for(person)
    raw = raw or f"Subject: {subject}\r\n\r\nbody {person.pk}\r\n".encode()
    sha = hashlib.sha256(raw).hexdigest()
    qid = "Q" + sha[:20]
    at = received_at or timezone.now()
    address = person.email or f"{person.user.username if person.user else person.pk}@{DOMAIN}"
    return QuarantineItem.objects.create(
        municipality=person.org_unit.municipality, org_unit=person.org_unit, recipient=person,
        recipient_address=address, spool_id=f"s-{sha[:12]}-{person.pk}", quarantine_id=qid, original_sha256=sha,
        original_size=len(raw), mail_from="sender@example.com", sender="取引先 <sender@example.com>",
        subject=subject, message_id="<m1@example.com>", received_at=at, status=status,
        report=report_json(quarantine_id=qid, sha=sha, subject=subject, status=status, parts=parts),
        removed=1, converted=1, expires_at=at + dt.timedelta(days=90), **extra)


def release_for(item: QuarantineItem, person: Person, *, part_path: str = "") -> ReleaseRequest:
    return ReleaseRequest.objects.create(item=item, requested_by=person, part_path=part_path,
                                         part_label=part_path or "original message", reason="業務で原本が必要")
