"""The mail gateway world: テスト市's gateway settings, persona addresses, and the relay's spool in a temp dir.

``relay_processed`` does what the relay does with one accepted message, with the real engine and the relay's
own event and store code (no socket): sanitize, keep the original, report a ``processed`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.quarantine.factories import DOMAIN, settings_for


@dataclass
class Gateway:
    world: Any
    spool: Path

    def address(self, persona: str) -> str:
        return f"{persona}@{DOMAIN}"

    def relay_processed(self, raw: bytes, rcpts: list[str], *, spool_id: str = "S1") -> dict[str, Any]:
        from mamoru.relay.events import emit, make_event
        from mamoru.relay.quarantine import QuarantineStore
        from mamoru.sanitize import sanitize_message

        result = sanitize_message(raw)
        sha = QuarantineStore(self.spool / "quarantine").put(raw)
        report = result.report.to_json()
        emit(self.spool, make_event("processed", spool_id=spool_id, mail_from="sender@example.com",
                                    rcpt_tos=rcpts, quarantine_id=result.report.quarantine_id,
                                    original_sha256=sha, report=report))
        return report

    def relay_event(self, event: str, rcpts: list[str], *, spool_id: str = "S1", **kw: Any) -> None:
        from mamoru.relay.events import emit, make_event

        emit(self.spool, make_event(event, spool_id=spool_id, mail_from="sender@example.com", rcpt_tos=rcpts, **kw))


@pytest.fixture
def gateway(world: Any, settings: Any, tmp_path: Path) -> Gateway:
    settings.RELAY_SPOOL_DIR = tmp_path / "spool"
    for name, person in world.people.items():
        if name != "other_ciso":
            person.email = f"{name}@{DOMAIN}"
            person.save()
    settings_for(world.people["staff_a"])
    return Gateway(world=world, spool=tmp_path / "spool")


@pytest.fixture
def invoice(gateway: Gateway) -> Any:
    """staff_a's invoice mail (a PDF with JavaScript attached) as the relay handled it, ingested."""
    from mamoru.quarantine import services
    from mamoru.quarantine.models import QuarantineItem
    from tests.quarantine.mails import invoice_mail

    a = gateway.address("staff_a")
    gateway.relay_processed(invoice_mail(a), [a])
    services.events_ingest()
    return QuarantineItem.objects.get(recipient_address=a)
