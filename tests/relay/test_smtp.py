"""The relay end to end over real SMTP on 127.0.0.1: smtplib client → relay → recording aiosmtpd sink."""

from __future__ import annotations

import email
import email.policy
import hashlib
import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest

from mamoru.relay import events
from mamoru.relay.quarantine import QuarantineStore
from mamoru.relay.server import Relay

from .conftest import DOMAIN, SinkHandler, drained, make_mail, wait_for


def test_a_message_is_sanitized_delivered_and_its_original_quarantined(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    relay = start_relay(port)
    raw = make_mail(subject="【重要】見積書の送付", message_id="<quote-1@example.com>")
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        refused = client.sendmail("partner@example.com", [f"tanaka@{DOMAIN}", f"sato@{DOMAIN}"], raw)
    assert refused == {}
    wait_for(lambda: len(handler.messages) == 1, what="the delivery")
    got = handler.messages[0]
    assert got.mail_from == "partner@example.com"
    assert got.rcpt_tos == [f"tanaka@{DOMAIN}", f"sato@{DOMAIN}"]
    delivered = email.message_from_bytes(got.data, policy=email.policy.default)
    assert delivered["Message-ID"] == "<quote-1@example.com>"
    assert delivered["Subject"] == "【重要】見積書の送付"
    assert delivered["Received"].startswith("from 127.0.0.1 by relay.test (Mamoru relay)")

    digest = hashlib.sha256(raw).hexdigest()
    store = QuarantineStore(spool_dir / "quarantine")
    assert store.get(digest) == raw  # byte for byte what the client sent
    wait_for(lambda: len(list(events.read_events(spool_dir))) == 2, what="two events")
    processed, done = (e for _, e in events.read_events(spool_dir))
    assert processed["event"] == "processed" and done["event"] == "delivered"
    assert processed["original_sha256"] == digest == done["original_sha256"]
    assert processed["report"]["quarantine_id"] == processed["quarantine_id"] == done["quarantine_id"]
    assert delivered["X-Mamoru-Quarantine-Id"] == processed["quarantine_id"]  # the recipient can ask for it
    assert processed["report"]["status"] == "sanitized" and processed["report"]["subject"] == "【重要】見積書の送付"
    assert done["smtp_code"] == 250 and "stored" in done["smtp_reply"]
    assert done["rcpt_tos"] == [f"tanaka@{DOMAIN}", f"sato@{DOMAIN}"] and done["attempt"] == 1
    wait_for(lambda: drained(spool_dir), what="the spool to empty")
    assert not any((spool_dir / "state").iterdir()) and not any((spool_dir / "tmp").iterdir())


def test_unknown_domains_get_550_at_rcpt_and_the_rest_goes_through(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay]) -> None:
    handler, port = sink
    relay = start_relay(port)
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        refused = client.sendmail("partner@example.com", [f"tanaka@{DOMAIN}", "victim@example.org"], make_mail())
        assert refused["victim@example.org"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            client.sendmail("spammer@example.net", ["victim@example.org"], make_mail())
        assert caught.value.recipients["victim@example.org"][0] == 550
    wait_for(lambda: len(handler.messages) == 1, what="the delivery")
    assert handler.messages[0].rcpt_tos == [f"tanaka@{DOMAIN}"]


def test_oversize_is_refused_with_552_by_size_and_while_receiving_data(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    _, port = sink
    relay = start_relay(port, max_size=4000)
    big = make_mail(body="大きな本文。\n" * 600)
    assert len(big) > 4000
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "4000"
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:  # smtplib announces SIZE= in MAIL FROM
            client.sendmail("partner@example.com", [f"tanaka@{DOMAIN}"], big)
        assert caught.value.smtp_code == 552
        client.rset()
        # a client that does not announce the size is stopped while sending DATA
        assert client.mail("partner@example.com")[0] == 250
        assert client.rcpt(f"tanaka@{DOMAIN}")[0] == 250
        code, _ = client.data(big)
        assert code == 552
    assert relay.spool.counts()["queue"] == 0 and not any((spool_dir / "tmp").iterdir())
