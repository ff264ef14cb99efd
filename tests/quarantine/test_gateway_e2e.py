"""The whole gateway on loopback: an internet MTA sends to the relay, the LGWAN server receives text, the web app
ingests what the relay did, the recipient asks for the PDF, the manager approves, the relay delivers it."""

from __future__ import annotations

import email
import email.policy
import smtplib
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mamoru.quarantine import services
from mamoru.quarantine.models import QuarantineItem, ReleaseRequest
from mamoru.relay.server import Relay, RelayConfig
from mamoru.relay.worker import RetryPolicy
from tests.quarantine.factories import DOMAIN
from tests.quarantine.mails import invoice_mail
from tests.relay.conftest import SinkHandler, drained, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def lgwan() -> Any:
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="lgwan-mx.test")
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def relay(gateway: Any, lgwan: Any) -> Any:
    _handler, port = lgwan
    running = Relay(RelayConfig(spool_dir=Path(gateway.spool), deliver_to=("127.0.0.1", port),
                                accept_domains=(DOMAIN,), listen=("127.0.0.1", 0), hostname="relay.test",
                                retry=RetryPolicy(base=0.05, factor=2.0, cap=0.2, jitter=0.0, max_age=3600.0),
                                rescan_every=0.1, workers=2, delivery_timeout=5.0))
    running.start()
    yield running
    running.stop()


def test_mail_is_sanitized_on_the_way_and_the_pdf_released_after_approval(gateway: Any, lgwan: Any,
                                                                        relay: Any) -> None:
    handler, _port = lgwan
    to = gateway.address("staff_a")
    host, port = relay.address
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("billing@example.com", [to], invoice_mail(to))
    wait_for(lambda: len(handler.messages) == 1, what="the sanitized mail at the LGWAN server")
    delivered = email.message_from_bytes(handler.messages[0].data, policy=email.policy.default)
    assert delivered.get_content_type() == "text/plain"
    text = delivered.get_content()
    assert "請求書を添付いたします" in text and "請求書.pdf" in text and "%PDF" not in handler.messages[0].data.decode()

    wait_for(lambda: drained(Path(gateway.spool)), what="the relay to finish")
    services.events_ingest()
    item = QuarantineItem.objects.get(recipient_address=to)
    assert item.delivery == "delivered" and item.quarantine_id == delivered["X-Mamoru-Quarantine-Id"]

    pdf = next(p["path"] for p in item.releasable_parts() if p["filename"] == "請求書.pdf")
    req = services.release_request_create(item=item, user=gateway.world.user("staff_a"), part_path=pdf,
                                          reason="支払い処理に原本が必要")
    services.release_decide(req=req, user=gateway.world.user("manager_a"), approve=True)
    wait_for(lambda: len(handler.messages) == 2, what="the released PDF at the LGWAN server")
    released = email.message_from_bytes(handler.messages[1].data, policy=email.policy.default)
    assert handler.messages[1].rcpt_tos == [to]
    (attachment,) = list(released.iter_attachments())
    assert attachment.get_filename() == "請求書.pdf" and attachment.get_content().startswith(b"%PDF")

    wait_for(lambda: drained(Path(gateway.spool)), what="the relay to finish the release")
    services.events_ingest()
    assert ReleaseRequest.objects.get(pk=req.pk).status == "delivered"
