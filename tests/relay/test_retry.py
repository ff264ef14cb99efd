"""Delivery trouble: 4xx and connection errors are retried with backoff, 5xx holds the message for an operator,
recipients refused one by one are tracked one by one."""

from __future__ import annotations

import io
import json
import smtplib
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller

from mamoru.relay import events
from mamoru.relay.cli import main as relay_cli
from mamoru.relay.server import Relay
from mamoru.relay.worker import RetryPolicy

from .conftest import DOMAIN, SinkHandler, drained, free_port, make_mail, wait_for


def send(relay: Relay, rcpts: list[str], raw: bytes | None = None) -> None:
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        client.sendmail("partner@example.com", rcpts, raw or make_mail())


def kinds(spool_dir: Path) -> list[tuple[str, list[str], int | None, int]]:
    return [(e["event"], e["rcpt_tos"], e["smtp_code"], e["attempt"]) for _, e in events.read_events(spool_dir)]


def test_temporary_refusals_are_retried_until_delivered_once(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    handler.data_replies = ["451 4.3.0 Mailbox server busy", "452 4.3.1 Insufficient system storage"]
    relay = start_relay(port)
    send(relay, [f"tanaka@{DOMAIN}"])
    wait_for(lambda: drained(spool_dir), what="delivery after two refusals")
    assert len(handler.messages) == 1
    rcpt = [f"tanaka@{DOMAIN}"]
    assert kinds(spool_dir) == [("processed", rcpt, None, 0), ("deferred", rcpt, 451, 1), ("deferred", rcpt, 452, 2),
                                ("delivered", rcpt, 250, 3)]
    deferred = [e for _, e in events.read_events(spool_dir) if e["event"] == "deferred"]
    assert deferred[0]["smtp_reply"] == "4.3.0 Mailbox server busy"


def test_an_unreachable_server_is_retried_and_reached_when_it_comes_up(
        start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    port = free_port()  # nothing listens there yet
    relay = start_relay(port)
    send(relay, [f"tanaka@{DOMAIN}"])
    wait_for(lambda: any(k[0] == "deferred" for k in kinds(spool_dir)), what="a deferral")
    deferred = next(e for _, e in events.read_events(spool_dir) if e["event"] == "deferred")
    assert deferred["smtp_code"] is None and deferred["smtp_reply"].startswith("connection:")
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="lgwan-sink.test")
    controller.start()
    try:
        wait_for(lambda: len(handler.messages) == 1, what="delivery once the server is up")
    finally:
        controller.stop()
    wait_for(lambda: drained(spool_dir), what="the spool to empty")


def test_a_permanent_refusal_holds_the_message_and_an_operator_can_retry_it(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    handler.data_replies = ["554 5.7.1 Rejected by the LGWAN content filter"]
    relay = start_relay(port)
    send(relay, [f"tanaka@{DOMAIN}"])
    wait_for(lambda: relay.spool.counts()["failed"] == 1, what="the hold")
    assert handler.messages == []
    failed = [e for _, e in events.read_events(spool_dir) if e["event"] == "failed"]
    assert len(failed) == 1 and failed[0]["smtp_code"] == 554
    assert failed[0]["smtp_reply"] == "5.7.1 Rejected by the LGWAN content filter"

    out = io.StringIO()
    assert relay_cli(["status", "--spool", str(spool_dir), "--format", "json"], out=out) == 0
    status = json.loads(out.getvalue())
    assert status["counts"]["failed"] == 1
    (item,) = status["failed"]
    assert "554 5.7.1 Rejected by the LGWAN content filter" in item["reason"]

    out = io.StringIO()
    assert relay_cli(["retry", "--spool", str(spool_dir), item["spool_id"]], out=out) == 0
    assert "re-queued" in out.getvalue()
    wait_for(lambda: len(handler.messages) == 1, what="delivery after the operator's retry")
    wait_for(lambda: drained(spool_dir), what="the spool to empty")
    rcpt = [f"tanaka@{DOMAIN}"]
    assert kinds(spool_dir) == [("processed", rcpt, None, 0), ("failed", rcpt, 554, 1), ("delivered", rcpt, 250, 2)]


def test_recipients_refused_one_by_one_are_tracked_one_by_one(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    ok, gone, busy = f"ok@{DOMAIN}", f"gone@{DOMAIN}", f"busy@{DOMAIN}"
    handler.always_rcpt[gone] = "550 5.1.1 No such user"
    handler.rcpt_replies[busy] = ["450 4.2.1 Mailbox busy"]
    relay = start_relay(port)
    send(relay, [ok, gone, busy])
    wait_for(lambda: relay.spool.counts()["failed"] == 1, what="the end of the attempts")
    # ok got it once (the retry for busy did not resend to ok); busy got it on the second attempt; gone never
    assert [m.rcpt_tos for m in handler.messages] == [[ok], [busy]]
    assert kinds(spool_dir)[1:] == [("delivered", [ok], 250, 1), ("failed", [gone], 550, 1),
                                    ("deferred", [busy], 450, 1), ("delivered", [busy], 250, 2)]
    (held,) = (spool_dir / "failed").iterdir()
    state = json.loads((spool_dir / "state" / held.name.replace(".msg", ".json")).read_text())
    assert {r: s["status"] for r, s in state["recipients"].items()} == {ok: "delivered", gone: "failed",
                                                                        busy: "delivered"}
    assert state["failure"] == f"{gone}: 550 5.1.1 No such user"


def test_a_message_failing_past_its_maximum_age_is_held(
        start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    relay = start_relay(free_port(), retry=RetryPolicy(base=0.05, cap=0.1, jitter=0.0, max_age=0.3))
    send(relay, [f"tanaka@{DOMAIN}"])
    wait_for(lambda: relay.spool.counts()["failed"] == 1, what="the hold after the maximum age")
    failed = [e for _, e in events.read_events(spool_dir) if e["event"] == "failed"]
    assert len(failed) == 1 and failed[0]["smtp_reply"].startswith("gave up after ")


def test_the_backoff_grows_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy(base=60, factor=2, cap=3600, jitter=0.2)
    assert RetryPolicy(base=60, factor=2, cap=3600, jitter=0).delay(1) == 60
    assert RetryPolicy(base=60, factor=2, cap=3600, jitter=0).delay(4) == 480
    assert RetryPolicy(base=60, factor=2, cap=3600, jitter=0).delay(50) == 3600
    delays = [policy.delay(3) for _ in range(200)]
    assert min(delays) >= 240 * 0.8 and max(delays) <= 240 * 1.2 and len(set(delays)) > 100
