"""A restart picks up what the last run left: queued messages, deferred ones on their schedule, and never resends
what it recorded as delivered."""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller

from mamoru.relay import events
from mamoru.relay.server import Relay
from mamoru.relay.spool import Spool
from mamoru.relay.worker import RetryPolicy

from .conftest import DOMAIN, SinkHandler, drained, free_port, make_mail, wait_for


def test_queued_and_deferred_messages_are_delivered_after_a_restart_on_schedule(
        start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    port = free_port()  # the LGWAN server is down during the first run
    first = start_relay(port, retry=RetryPolicy(base=1.5, jitter=0.0, cap=1.5))
    with smtplib.SMTP(*first.address, local_hostname="client.test") as client:
        for n in range(3):
            client.sendmail("partner@example.com", [f"user{n}@{DOMAIN}"], make_mail(message_id=f"<d{n}@x>"))
    wait_for(lambda: first.spool.counts()["deferred"] == 3, what="three deferrals")
    first.stop()
    spool = Spool(spool_dir)
    for n in range(2):  # accepted, then the relay died before any worker saw them
        spool.accept(make_mail(message_id=f"<q{n}@x>"), mail_from="partner@example.com",
                     rcpt_tos=[f"user{n}@{DOMAIN}"])
    (spool_dir / "tmp" / "half-written.msg.1234").write_bytes(b'{"spool_id": ')  # never answered 250

    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="lgwan-sink.test")
    controller.start()
    try:
        start_relay(port)
        def ids() -> list[str]:
            return sorted(m.data.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode() for m in handler.messages)

        wait_for(lambda: len(handler.messages) == 2, what="the queued ones")
        time.sleep(0.3)
        assert ids() == ["<q0@x>", "<q1@x>"]  # the deferred ones wait for their persisted next attempt
        wait_for(lambda: len(handler.messages) == 5, what="the deferred ones, when due")
        assert ids() == ["<d0@x>", "<d1@x>", "<d2@x>", "<q0@x>", "<q1@x>"]
        wait_for(lambda: drained(spool_dir), what="all done")
        assert not any((spool_dir / "tmp").iterdir())
    finally:
        controller.stop()


def test_what_was_recorded_as_delivered_is_not_sent_again(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    """The relay died right after recording the LGWAN server's 250 (the rename into sent/), before the event."""
    handler, port = sink
    spool = Spool(spool_dir)
    spool.ensure()
    spool_id = spool.accept(make_mail(), mail_from="partner@example.com", rcpt_tos=[f"tanaka@{DOMAIN}"])
    entry = spool.locate(spool_id)
    assert entry is not None
    spool.move(entry, "sent", durable=True)
    relay = start_relay(port)
    wait_for(lambda: drained(spool_dir), what="the message to be settled")
    time.sleep(0.2)
    assert handler.messages == []
    ((_, event),) = events.read_events(spool_dir)
    assert (event["event"], event["spool_id"], event["rcpt_tos"]) == ("delivered", spool_id, [f"tanaka@{DOMAIN}"])
    assert relay.spool.counts()["sent"] == 0


def test_a_partial_delivery_recorded_before_a_crash_resumes_with_the_rest_only(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    """The relay died after recording that one of two recipients got it (state + unreported event)."""
    handler, port = sink
    spool = Spool(spool_dir)
    spool.ensure()
    done, rest = f"done@{DOMAIN}", f"rest@{DOMAIN}"
    spool_id = spool.accept(make_mail(), mail_from="partner@example.com", rcpt_tos=[done, rest])
    delivered = events.make_event("delivered", spool_id=spool_id, mail_from="partner@example.com", rcpt_tos=[done],
                                  smtp_code=250, smtp_reply="2.0.0 Ok", attempt=1)
    (spool_dir / "state" / f"{spool_id}.json").write_text(json.dumps({
        "recipients": {done: {"status": "delivered", "code": 250, "reply": "2.0.0 Ok", "attempt": 1},
                       rest: {"status": "pending", "code": 450, "reply": "busy", "attempt": 1}},
        "attempt": 1, "processed": True, "unreported": [delivered]}))
    start_relay(port)
    wait_for(lambda: drained(spool_dir), what="the rest to be delivered")
    assert [m.rcpt_tos for m in handler.messages] == [[rest]]
    assert [(e["event"], e["rcpt_tos"], e["attempt"]) for _, e in events.read_events(spool_dir)] == [
        ("delivered", [done], 1), ("delivered", [rest], 2)]
