"""Releasing a held original: asked for by the recipient, decided by the configured approver, delivered through
the relay's durable queue (or downloaded, by setting) — and never before approval."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mamoru.core.models import AuditEntry
from mamoru.quarantine import services
from mamoru.quarantine.choices import ApproverRole, ReleaseMode
from mamoru.quarantine.models import QuarantineItem, ReleaseRequest
from tests.quarantine.factories import settings_for

pytestmark = pytest.mark.django_db


def _pdf_part(item: QuarantineItem) -> str:
    (part,) = [p for p in item.releasable_parts() if p["filename"] == "請求書.pdf"]
    return str(part["path"])


def _queued(gateway: Any, req: ReleaseRequest) -> bytes | None:
    from mamoru.relay.spool import Spool, release_spool_id

    entry = Spool(gateway.spool).locate(release_spool_id(str(req.release_id)))
    if entry is None:
        return None
    return Spool.read(entry)[1]


def test_attachment_release_after_approval_is_queued_for_the_recipient(gateway: Any, invoice: QuarantineItem) -> None:
    w = gateway.world
    req = services.release_request_create(item=invoice, user=w.user("staff_a"), part_path=_pdf_part(invoice),
                                          reason="取引先の請求書の確認に必要")
    assert _queued(gateway, req) is None  # nothing leaves before a decision

    with pytest.raises(ValidationError):  # the 情報セキュリティ管理者 of 課A decides, not a colleague of 課B's CSIRT
        services.release_decide(req=req, user=w.user("sysadmin_a"), approve=True)
    decided = services.release_decide(req=req, user=w.user("manager_a"), approve=True, note="確認済み")
    assert decided.status == "approved" and decided.decided_by == w.people["manager_a"]

    raw = _queued(gateway, decided)
    assert raw is not None
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"] == gateway.address("staff_a")
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "請求書.pdf"
    from mamoru.relay.quarantine import QuarantineStore

    original = email.message_from_bytes(QuarantineStore(gateway.spool / "quarantine").get(invoice.original_sha256),
                                        policy=email.policy.default)
    (pdf,) = list(original.iter_attachments())
    assert attachment.get_content() == pdf.get_content()  # the original bytes, JavaScript and all, as approved
    assert AuditEntry.objects.filter(event="approval", object_type="quarantine.releaserequest").exists()

    # The relay reports the delivery; the request is then closed as delivered.
    gateway.relay_event("released", [gateway.address("staff_a")], spool_id="R1", release_id=str(req.release_id))
    services.events_ingest()
    req.refresh_from_db()
    assert req.status == "delivered" and req.delivered_at is not None


def test_nobody_approves_their_own_request_and_a_refusal_needs_a_reason(gateway: Any, invoice: QuarantineItem) -> None:
    w = gateway.world
    req = services.release_request_create(item=invoice, user=w.user("manager_a"), part_path="", reason="調査のため")
    with pytest.raises(ValidationError):
        services.release_decide(req=req, user=w.user("manager_a"), approve=True)
    with pytest.raises(ValidationError):
        services.release_decide(req=req, user=w.user("ciso"), approve=False, note="")
    refused = services.release_decide(req=req, user=w.user("ciso"), approve=False, note="不審な送信元")
    assert refused.status == "refused" and _queued(gateway, refused) is None
    with pytest.raises(ValidationError):  # decided once, for good
        services.release_decide(req=refused, user=w.user("chief"), approve=True)


def test_the_configured_approver_role_decides(gateway: Any, invoice: QuarantineItem) -> None:
    w = gateway.world
    settings_for(w.people["staff_a"], approver=ApproverRole.CHIEF)
    req = services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")
    assert not services.may_decide(w.user("manager_a"), req)
    assert services.may_decide(w.user("chief"), req)


def test_requests_are_validated(gateway: Any, invoice: QuarantineItem) -> None:
    w = gateway.world
    with pytest.raises(ValidationError, match="5"):
        services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="要")
    with pytest.raises(ValidationError):  # the text part was not removed: nothing to release
        services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="1.1", reason="本文が必要です")
    services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")
    with pytest.raises(ValidationError):  # one open request per thing
        services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")


def test_download_mode_gives_the_original_to_the_requester_only(gateway: Any, invoice: QuarantineItem,
                                                               login_as: Any) -> None:
    w = gateway.world
    settings_for(w.people["staff_a"], mode=ReleaseMode.DOWNLOAD)
    req = services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")
    url = reverse("quarantine:release_download", args=[req.pk])
    assert login_as("staff_a").get(url).status_code == 302  # not approved yet: back to the mail with a message

    services.release_decide(req=req, user=w.user("manager_a"), approve=True)
    assert _queued(gateway, req) is None
    response = login_as("staff_a").get(url)
    assert response.status_code == 200
    from mamoru.relay.quarantine import QuarantineStore

    assert response.content == QuarantineStore(gateway.spool / "quarantine").get(invoice.original_sha256)
    assert "attachment" in response["Content-Disposition"]
    assert login_as("staff_b").get(url).status_code == 404
    assert AuditEntry.objects.filter(event="download", object_type="quarantine.releaserequest").exists()


def test_retention_deletes_originals_and_closes_open_requests(gateway: Any, invoice: QuarantineItem) -> None:
    import datetime as dt

    from django.utils import timezone

    from mamoru.relay.quarantine import QuarantineStore

    w = gateway.world
    req = services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")
    store = QuarantineStore(gateway.spool / "quarantine")
    assert invoice.original_sha256 in store
    assert services.items_expire(now=invoice.expires_at - dt.timedelta(seconds=1)) == 0
    assert services.items_expire(now=timezone.now() + dt.timedelta(days=91)) == 1
    invoice.refresh_from_db()
    req.refresh_from_db()
    assert invoice.purged_at is not None and req.status == "expired"
    assert invoice.original_sha256 not in store
    with pytest.raises(ValidationError):
        services.release_request_create(item=invoice, user=w.user("staff_a"), part_path="", reason="原本が必要です")
