"""The relay's events become quarantine rows: per recipient, scoped to their section, idempotent, daily counts."""

from __future__ import annotations

from typing import Any

import pytest

from mamoru.core.models import AuditEntry
from mamoru.quarantine import selectors, services
from mamoru.quarantine.models import GatewayEvent, QuarantineItem
from tests.quarantine.mails import invoice_mail

pytestmark = pytest.mark.django_db


def test_a_processed_mail_becomes_one_item_per_recipient_in_their_section(gateway: Any) -> None:
    rcpts = [gateway.address("staff_a"), gateway.address("staff_b"), "nobody@test-city.example.lg.jp"]
    report = gateway.relay_processed(invoice_mail(", ".join(rcpts[:2])), rcpts)

    result = services.events_ingest()
    assert (result.events, result.items, result.unknown) == (1, 3, [])
    items = {i.recipient_address: i for i in QuarantineItem.objects.all()}
    world = gateway.world
    assert items[rcpts[0]].org_unit == world.units["sec_a"] and items[rcpts[0]].recipient == world.people["staff_a"]
    assert items[rcpts[1]].org_unit == world.units["sec_b"]
    # An address of the city's domain that belongs to nobody: the city's own quarantine (CISO, 統括, CSIRT).
    assert items[rcpts[2]].org_unit == world.units["city"] and items[rcpts[2]].recipient is None
    item = items[rcpts[0]]
    assert item.subject == "請求書の送付について" and item.quarantine_id == report["quarantine_id"]
    # The PDF was removed (default policy), and so was the HTML alternative (the text/plain one is shown).
    assert item.removed == 2 and item.converted == 0 and item.status == "sanitized"
    assert {(p["path"], p["filename"]) for p in item.releasable_parts()} == {("1.2", None), ("2", "請求書.pdf")}
    assert not list((gateway.spool / "events").glob("*.json"))  # acknowledged once committed
    assert AuditEntry.objects.filter(event="gateway_ingest").exists()


def test_an_event_seen_twice_is_recorded_once(gateway: Any) -> None:
    rcpts = [gateway.address("staff_a")]
    gateway.relay_processed(invoice_mail(rcpts[0]), rcpts)
    services.events_ingest()
    # The ingester died after its commit but before deleting the file: the same event comes again.
    gateway.relay_processed(invoice_mail(rcpts[0]), rcpts)
    result = services.events_ingest()
    assert (result.events, result.duplicates) == (0, 1)
    assert QuarantineItem.objects.count() == 1 and GatewayEvent.objects.count() == 1


def test_delivery_events_update_the_items_and_failures_become_findings(gateway: Any) -> None:
    a, b = gateway.address("staff_a"), gateway.address("staff_b")
    gateway.relay_processed(invoice_mail(a), [a, b])
    gateway.relay_event("delivered", [a], smtp_code=250, smtp_reply="2.0.0 Ok", attempt=1)
    gateway.relay_event("failed", [b], smtp_code=550, smtp_reply="5.1.1 User unknown", attempt=1)
    services.events_ingest()
    assert QuarantineItem.objects.get(recipient_address=a).delivery == "delivered"
    failed = QuarantineItem.objects.get(recipient_address=b)
    assert failed.delivery == "failed" and "5.1.1 User unknown" in failed.delivery_detail

    from mamoru.compliance.services import checks_run

    checks_run(municipality=gateway.world.units["city"])
    from mamoru.compliance.models import Finding

    finding = Finding.objects.get(code="MAIL-001")
    assert finding.org_unit == gateway.world.units["sec_b"] and "5.1.1 User unknown" in finding.message


def test_a_file_that_is_no_relay_event_is_kept_and_named(gateway: Any) -> None:
    gateway.relay_event("processed", [gateway.address("staff_a")])
    bogus = gateway.spool / "events" / "00000000000000000001-X-bogus-0.json"
    bogus.write_text('{"event": "teleported", "spool_id": "X"}', encoding="utf-8")
    result = services.events_ingest()
    assert len(result.unknown) == 1 and bogus.name in result.unknown[0] and "teleported" in result.unknown[0]
    assert bogus.exists()  # nothing is thrown away that nobody understood


def test_daily_counts(gateway: Any) -> None:
    a = gateway.address("staff_a")
    gateway.relay_processed(invoice_mail(a), [a], spool_id="S1")
    gateway.relay_processed(invoice_mail(a, subject="二通目"), [a], spool_id="S2")
    gateway.relay_event("delivered", [a], spool_id="S1", attempt=1)
    gateway.relay_event("deferred", [a], spool_id="S2", attempt=1, smtp_code=451)
    services.events_ingest()
    (today,) = selectors.daily_counts(gateway.world.user("ciso"))
    assert (today["received"], today["sanitized"], today["held"], today["removed"]) == (2, 2, 0, 4)
    assert (today["delivered"], today["deferred"], today["failed"]) == (1, 1, 0)
    assert selectors.daily_counts(gateway.world.user("other_ciso")) == []
