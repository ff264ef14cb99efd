"""Write side of the mail quarantine: ingesting the relay's events, release requests and decisions, retention."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core import audit
from mamoru.core.access import holds_role_over
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit, Person
from mamoru.quarantine.choices import (
    ApproverRole,
    Delivery,
    GatewayEventKind,
    ItemStatus,
    ReleaseMode,
    ReleaseStatus,
)
from mamoru.quarantine.models import GatewayEvent, GatewaySettings, QuarantineItem, ReleaseRequest, spool_dir

OPEN_RELEASES = (ReleaseStatus.REQUESTED, ReleaseStatus.APPROVED, ReleaseStatus.AVAILABLE)
APPROVER_ROLES = {
    ApproverRole.SECTION_MANAGER: frozenset({"section_manager", "ciso", "chief"}),
    ApproverRole.CSIRT: frozenset({"csirt", "ciso", "chief"}),
    ApproverRole.CHIEF: frozenset({"chief", "ciso"}),
}
DEFAULT_RETENTION_DAYS = 90


# --- settings ------------------------------------------------------------------------------------------

def gateway_settings_for(municipality: OrgUnit | None) -> GatewaySettings:
    """The city's settings, or unsaved defaults when it has none yet."""
    if municipality is not None:
        found = GatewaySettings.objects.filter(municipality=municipality).first()
        if found is not None:
            return found
    return GatewaySettings(municipality=municipality, domains="")


# --- ingest --------------------------------------------------------------------------------------------

@dataclass
class IngestResult:
    events: int = 0
    items: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)  # event files that were not understood (kept, not deleted)


@dataclass
class _Directory:
    """Recipient address → (municipality, person), from the cities' settings and people's addresses."""

    by_domain: dict[str, GatewaySettings]
    people: dict[str, Person]

    @classmethod
    def load(cls) -> _Directory:
        by_domain: dict[str, GatewaySettings] = {}
        for gs in GatewaySettings.objects.select_related("municipality"):
            for domain in gs.domain_list():
                by_domain[domain] = gs
        return cls(by_domain=by_domain, people={})

    def settings_of(self, address: str) -> GatewaySettings | None:
        domain = address.rpartition("@")[2].lower().rstrip(">").strip()
        return self.by_domain.get(domain)

    def person(self, address: str, municipality: OrgUnit | None) -> Person | None:
        key = address.lower()
        if key not in self.people:
            qs = Person.objects.filter(email__iexact=address, is_active=True).select_related("org_unit")
            if municipality is not None:
                qs = qs.filter(org_unit__path__startswith=municipality.path)
            matches = list(qs[:2])
            self.people[key] = matches[0] if len(matches) == 1 else None  # type: ignore[assignment]
        return self.people[key]


def _at(value: Any) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _counts(report: dict[str, Any]) -> dict[str, int]:
    parts = report.get("parts", []) if isinstance(report, dict) else []
    out = {"converted": 0, "removed": 0, "disarmed": 0}
    for part in parts:
        action = part.get("action") if isinstance(part, dict) else None
        if action in out:
            out[action] += 1
    return out


def _recipients(data: dict[str, Any]) -> list[str]:
    rcpts = data.get("rcpt_tos") or []
    return [str(r) for r in rcpts if isinstance(r, str) and r]


def _ingest_one(data: dict[str, Any], directory: _Directory, result: IngestResult) -> None:
    kind = data.get("event")
    spool_id = str(data.get("spool_id") or "")
    if kind not in GatewayEventKind.values or not spool_id:
        raise ValueError(f"not a relay event: event={kind!r} spool_id={spool_id!r}")
    rcpts = _recipients(data)
    at = _at(data.get("at"))
    gs = next((s for s in (directory.settings_of(r) for r in rcpts) if s is not None), None)
    municipality = gs.municipality if gs is not None else None
    report = data.get("report") if isinstance(data.get("report"), dict) else {}
    counts = _counts(report)
    held = kind == GatewayEventKind.PROCESSED and report.get("status") == ItemStatus.HELD
    code = data.get("smtp_code")
    event = GatewayEvent(
        municipality=municipality, spool_id=spool_id, kind=kind, attempt=int(data.get("attempt") or 0), at=at,
        day=timezone.localtime(at).date(), recipients=len(rcpts), held=held,
        smtp_code=int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None,
        smtp_reply=str(data.get("smtp_reply") or "")[:500], release_id=str(data.get("release_id") or "")[:40],
        rcpt_key=hashlib.sha256("\n".join(sorted(rcpts)).encode()).hexdigest()[:16],
        **(counts if kind == GatewayEventKind.PROCESSED else {}))
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:  # the same event file ingested twice (the consumer died before deleting it)
        result.duplicates += 1
        return
    result.events += 1
    if kind == GatewayEventKind.PROCESSED:
        result.items += _items_create(data, report, counts, rcpts, at, directory)
    elif kind == GatewayEventKind.RELEASED:
        _release_delivered(str(data.get("release_id") or ""), at)
    else:
        delivery = {GatewayEventKind.DELIVERED: Delivery.DELIVERED, GatewayEventKind.DEFERRED: Delivery.DEFERRED,
                    GatewayEventKind.FAILED: Delivery.FAILED}[kind]
        detail = f"{event.smtp_code or ''} {event.smtp_reply}".strip()[:500]
        items = QuarantineItem.objects.filter(spool_id=spool_id)
        if rcpts:
            items = items.filter(recipient_address__in=rcpts)
        items.exclude(delivery=Delivery.DELIVERED).update(delivery=delivery, delivery_detail=detail,
                                                         updated_at=timezone.now())


def _items_create(data: dict[str, Any], report: dict[str, Any], counts: dict[str, int], rcpts: list[str],
                  at: dt.datetime, directory: _Directory) -> int:
    rows = []
    for address in dict.fromkeys(rcpts):
        gs = directory.settings_of(address)
        municipality = gs.municipality if gs is not None else None
        person = directory.person(address, municipality)
        retention = gs.retention_days if gs is not None and gs.pk else DEFAULT_RETENTION_DAYS
        rows.append(QuarantineItem(
            municipality=municipality,
            org_unit=person.org_unit if person is not None else municipality,
            recipient=person, recipient_address=address[:320], spool_id=str(data["spool_id"]),
            quarantine_id=str(data.get("quarantine_id") or report.get("quarantine_id") or "")[:40],
            original_sha256=str(data.get("original_sha256") or report.get("original_sha256") or "")[:64],
            original_size=int(report.get("original_size") or 0),
            mail_from=str(data.get("mail_from") or "")[:320], sender=str(report.get("sender") or "")[:500],
            subject=str(report.get("subject") or "")[:1000], message_id=str(report.get("message_id") or "")[:500],
            received_at=at, status=ItemStatus.HELD if report.get("status") == ItemStatus.HELD else ItemStatus.SANITIZED,
            hold_reason=str(report.get("hold_reason") or "")[:200], report=report,
            expires_at=at + dt.timedelta(days=retention), **counts))
    QuarantineItem.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _release_delivered(release_id: str, at: dt.datetime) -> None:
    ReleaseRequest.objects.filter(release_id=release_id, status=ReleaseStatus.APPROVED).update(
        status=ReleaseStatus.DELIVERED, delivered_at=at, updated_at=timezone.now())


def events_ingest(*, spool: str | Path | None = None, limit: int | None = None) -> IngestResult:
    """Record the relay's events (oldest first) and delete each file once its rows are committed.

    Safe to run from cron on several hosts: an event recorded twice (a consumer died between the commit and
    the delete, or two consumers raced) is recognised by its unique key and only deleted the second time.
    """
    from mamoru.relay.events import acknowledge, read_events

    directory = _Directory.load()
    result = IngestResult()
    for n, (path, data) in enumerate(read_events(Path(spool or spool_dir()))):
        if limit is not None and n >= limit:
            break
        try:
            with transaction.atomic():
                _ingest_one(data, directory, result)
        except (ValueError, TypeError, KeyError) as exc:
            result.unknown.append(f"{path.name}: {exc}")
            continue
        acknowledge(path)
    if result.events:
        audit.event(AuditEvent.GATEWAY_INGEST, actor="mamoru quarantine ingest", object_type="quarantine.gatewayevent",
                    details={"events": result.events, "items": result.items, "duplicates": result.duplicates})
    return result


# --- release -------------------------------------------------------------------------------------------

def release_request_create(*, item: QuarantineItem, user: Any, part_path: str, reason: str) -> ReleaseRequest:
    """A recipient (or someone who reads the item) asks for the original or one original attachment.

    The released content always goes to the item's recipient, never to whoever asked.
    """
    person = Person.objects.filter(user=user, is_active=True).first()
    if person is None:
        raise ValidationError(_("Only a person registered in the organisation can ask for a release."))
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError(_("Say why you need it (at least 5 characters)."))
    if not item.original_available:
        raise ValidationError(_("The original was deleted at the end of its retention period."))
    label = _("original message")
    if part_path:
        part = next((p for p in item.releasable_parts() if p.get("path") == part_path), None)
        if part is None:
            raise ValidationError(_("Part %(part)s of this message was not removed or disarmed; there is nothing "
                                    "to release.") % {"part": part_path})
        label = str(part.get("filename") or part.get("content_type") or part_path)
    if item.release_requests.filter(part_path=part_path, status__in=OPEN_RELEASES).exists():
        raise ValidationError(_("A release of this has already been asked for and is not finished."))
    req = ReleaseRequest(item=item, part_path=part_path, part_label=label[:300], requested_by=person, reason=reason)
    with transaction.atomic():
        req.full_clean()
        req.save()
    return req


def may_decide(user: Any, req: ReleaseRequest, roles_by_city: dict[int | None, str] | None = None) -> bool:
    """Whether ``user`` is the approver the city configured for this item (and did not ask for it).
    ``roles_by_city``: the cities' approver roles read once for a list of requests (else one query)."""
    item = req.item
    if req.requested_by.user_id == getattr(user, "pk", None) and not getattr(user, "is_superuser", False):
        return False
    unit = item.org_unit or item.municipality
    if unit is None:
        return bool(getattr(user, "is_superuser", False))
    if roles_by_city is None or item.municipality_id not in roles_by_city:
        role = gateway_settings_for(item.municipality).approver_role
    else:
        role = roles_by_city[item.municipality_id]
    return holds_role_over(user, APPROVER_ROLES[ApproverRole(role)], unit.path)


def release_decide(*, req: ReleaseRequest, user: Any, approve: bool, note: str = "") -> ReleaseRequest:
    """The configured approver approves (the original is queued for delivery or made downloadable) or refuses."""
    with transaction.atomic():
        locked = ReleaseRequest.objects.select_for_update().select_related("item", "requested_by").get(pk=req.pk)
        if locked.status != ReleaseStatus.REQUESTED:
            raise ValidationError(_("This request was already decided (%(status)s).")
                                  % {"status": locked.get_status_display()})
        if not may_decide(user, locked):
            raise ValidationError(_("Only the configured approver for this mail, other than the person who asked, "
                                    "can decide."))
        if not approve and len(note.strip()) < 2:
            raise ValidationError(_("Give the reason for the refusal."))
        if approve and not locked.item.original_available:
            raise ValidationError(_("The original was deleted at the end of its retention period."))
        locked.decided_by = Person.objects.filter(user=user).first()
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        mode = gateway_settings_for(locked.item.municipality).release_mode
        if not approve:
            locked.status = ReleaseStatus.REFUSED
        elif mode == ReleaseMode.DOWNLOAD:
            locked.status = ReleaseStatus.AVAILABLE
        else:
            locked.status = ReleaseStatus.APPROVED
        locked.full_clean()
        locked.save()
        audit.event(AuditEvent.APPROVAL if approve else AuditEvent.REFUSAL, obj=locked, actor=user, details={
            "quarantine_id": locked.item.quarantine_id, "part": locked.part_path or "original",
            "mode": mode if approve else "", "note": locked.decision_note})
        if locked.status == ReleaseStatus.APPROVED:
            # Queued in the relay's durable spool inside the transaction: if queuing fails nothing is decided.
            from mamoru.relay.spool import Spool

            Spool(Path(spool_dir())).enqueue_release(release_message(locked), mail_from=locked.item.mail_from or "",
                                                     rcpt_tos=[locked.item.recipient_address],
                                                     release_id=str(locked.release_id))
    return locked


def release_content(req: ReleaseRequest) -> tuple[bytes, str, str]:
    """(bytes, file name, content type) of what was asked for: the original message, or a message carrying the
    one original attachment (for delivery) — the attachment itself is what a download gives."""
    from mamoru.relay.quarantine import QuarantineStore

    item = req.item
    try:
        raw = QuarantineStore(Path(spool_dir()) / "quarantine").get(item.original_sha256)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ValidationError(_("The original of %(id)s is not in the quarantine store.")
                              % {"id": item.quarantine_id}) from exc
    if not req.part_path:
        return raw, f"{item.quarantine_id}.eml", "message/rfc822"
    from mamoru.sanitize.extract import extract_part

    found = extract_part(raw, req.part_path)
    if found is None:
        raise ValidationError(_("Part %(part)s is not in the original.") % {"part": req.part_path})
    data, filename, content_type = found
    return data, filename or f"{item.quarantine_id}-{req.part_path}.bin", content_type


def release_message(req: ReleaseRequest) -> bytes:
    """The bytes the relay delivers for an approved request."""
    data, filename, content_type = release_content(req)
    if not req.part_path:
        return data
    msg = EmailMessage()
    item = req.item
    msg["From"] = item.mail_from or "mamoru-quarantine@localhost"
    msg["To"] = item.recipient_address
    msg["Subject"] = _("[Released] %(subject)s") % {"subject": item.subject}
    msg.set_content(_("The attachment below was released from quarantine %(id)s after approval.")
                    % {"id": item.quarantine_id})
    maintype, _sep, subtype = content_type.partition("/")
    msg.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                       filename=filename)
    return msg.as_bytes()


def release_download(*, req: ReleaseRequest, user: Any) -> tuple[bytes, str, str]:
    """What an approved download-mode request gives its requester or the recipient (audited)."""
    if req.status != ReleaseStatus.AVAILABLE:
        raise ValidationError(_("This release is not available for download."))
    uid = getattr(user, "pk", None)
    if uid not in {req.requested_by.user_id, req.item.recipient.user_id if req.item.recipient else None}:
        raise ValidationError(_("Only the recipient or the person who asked can download the release."))
    content = release_content(req)
    audit.event(AuditEvent.DOWNLOAD, obj=req, actor=user, details={
        "quarantine_id": req.item.quarantine_id, "part": req.part_path or "original", "file": content[1]})
    return content


# --- retention -----------------------------------------------------------------------------------------

def items_expire(*, now: dt.datetime | None = None) -> int:
    """Delete originals past their retention (an original shared by several items goes with the last one)."""
    from mamoru.relay.quarantine import QuarantineStore

    now = now or timezone.now()
    store = QuarantineStore(Path(spool_dir()) / "quarantine")
    expired = list(QuarantineItem.objects.filter(expires_at__lt=now, purged_at__isnull=True)
                   .values_list("pk", "original_sha256"))
    if not expired:
        return 0
    ids = [pk for pk, _sha in expired]
    with transaction.atomic():
        QuarantineItem.objects.filter(pk__in=ids).update(purged_at=now, updated_at=now)
        ReleaseRequest.objects.filter(item_id__in=ids, status__in=OPEN_RELEASES).update(
            status=ReleaseStatus.EXPIRED, updated_at=now)
        still_used = set(QuarantineItem.objects.filter(purged_at__isnull=True,
                                                       original_sha256__in={s for _pk, s in expired})
                         .values_list("original_sha256", flat=True))
        gone = sorted({s for _pk, s in expired if s and s not in still_used})
        audit.event(AuditEvent.QUARANTINE_PURGE, actor="mamoru quarantine expire",
                    object_type="quarantine.quarantineitem", details={"items": len(ids), "originals": len(gone)})
    for sha in gone:  # after the commit: a crash here leaves a file to delete next time, never a dangling row
        store.delete(sha)
    return len(ids)
