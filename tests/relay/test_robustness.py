"""Trouble on the relay's side: hostile messages, an engine that fails, worker processes, bad command lines."""

from __future__ import annotations

import email
import email.policy
import io
import smtplib
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from mamoru.relay import events
from mamoru.relay.cli import main as relay_cli
from mamoru.relay.server import Relay

from .conftest import DOMAIN, SinkHandler, drained, make_mail, wait_for

HOSTILE = [
    b"",                                                     # nothing at all
    b"\r\n\r\n",                                              # no headers, no body
    b"Subject: =?utf-8?B?!!!?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n",
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n" * 20,
    b"\r\n".join(bytes(range(256))[i:i + 64] for i in range(0, 256, 64)) * 8 + b"\r\n",  # binary junk
    b"From: \xff\xfe <a@b>\r\nTo: =?iso-2022-jp?B?GyRC?= <tanaka@city.example.lg.jp>\r\n\r\n\x1b$B\r\n",
]


def test_hostile_messages_are_delivered_sanitized_or_as_a_notice_never_lost(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    relay = start_relay(port)
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        for raw in HOSTILE:
            client.sendmail("partner@example.com", [f"tanaka@{DOMAIN}"], raw)
    wait_for(lambda: len(handler.messages) == len(HOSTILE), what="every hostile message delivered")
    wait_for(lambda: drained(spool_dir), what="the spool to empty")
    for got in handler.messages:
        parsed = email.message_from_bytes(got.data, policy=email.policy.default)
        assert parsed["X-Mamoru-Quarantine-Id"], "the recipient can always name what to ask for"
    kinds = [e["event"] for _, e in events.read_events(spool_dir)]
    assert kinds.count("processed") == len(HOSTILE) and kinds.count("delivered") == len(HOSTILE)


def test_an_engine_failure_holds_the_message_for_an_operator(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink

    def broken(raw: bytes) -> object:
        raise RuntimeError("engine bug")

    relay = start_relay(port, sanitize=broken)
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        client.sendmail("partner@example.com", [f"tanaka@{DOMAIN}"], make_mail())
    wait_for(lambda: relay.spool.counts()["failed"] == 1, what="the hold")
    assert handler.messages == []  # nothing unsanitized ever goes out
    (failed,) = [e for _, e in events.read_events(spool_dir)]
    assert failed["event"] == "failed" and failed["smtp_reply"] == "engine error: RuntimeError: engine bug"
    out = io.StringIO()
    relay_cli(["status", "--spool", str(spool_dir)], out=out)
    assert "engine error: RuntimeError: engine bug" in out.getvalue()


def test_a_spool_file_the_relay_did_not_write_is_set_aside_for_an_operator(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    (spool_dir / "queue").mkdir(parents=True)
    (spool_dir / "queue" / "20250101T000000000000-0badf00d.msg").write_bytes(b"not an envelope\nSubject: x\r\n")
    relay = start_relay(port)
    wait_for(lambda: relay.spool.counts()["failed"] == 1, what="the unreadable file to be held")
    out = io.StringIO()
    relay_cli(["status", "--spool", str(spool_dir)], out=out)
    assert "failed 20250101T000000000000-0badf00d" in out.getvalue() and "unreadable" in out.getvalue()
    assert handler.messages == []


def test_worker_processes_deliver_the_same_way(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    relay = start_relay(port, worker_kind="process")
    with smtplib.SMTP(*relay.address, local_hostname="client.test") as client:
        for n in range(5):
            client.sendmail("partner@example.com", [f"user{n}@{DOMAIN}"], make_mail(message_id=f"<p{n}@x>"))
    wait_for(lambda: len(handler.messages) == 5, timeout=30, what="five deliveries from worker processes")
    wait_for(lambda: drained(spool_dir), what="the spool to empty")
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == [f"user{n}@{DOMAIN}" for n in range(5)]


def test_serve_refuses_a_bad_policy_and_a_busy_port(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("attachments:\n  pdf: explode\n", encoding="utf-8")
    err = io.StringIO()
    base = ["serve", "--spool", str(tmp_path / "spool"), "--deliver-to", "127.0.0.1:9", "--accept-domain", DOMAIN]
    assert relay_cli([*base, "--listen", "127.0.0.1:0", "--policy", str(policy)], err=err) == 2
    assert "pdf" in err.getvalue() and "Traceback" not in err.getvalue()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        err = io.StringIO()
        assert relay_cli([*base, "--listen", f"127.0.0.1:{busy.getsockname()[1]}"], err=err) == 2
        assert "cannot listen on" in err.getvalue()


def test_operator_commands_explain_what_they_cannot_do(tmp_path: Path) -> None:
    err = io.StringIO()
    assert relay_cli(["status", "--spool", str(tmp_path / "nowhere")], err=err) == 2
    assert "no spool" in err.getvalue()
    (tmp_path / "spool").mkdir()
    err = io.StringIO()
    assert relay_cli(["retry", "--spool", str(tmp_path / "spool"), "../../etc/passwd"], err=err) == 2
    assert "no message" in err.getvalue()
    with pytest.raises(SystemExit):
        relay_cli(["serve", "--spool", str(tmp_path), "--deliver-to", "nonsense", "--accept-domain", DOMAIN],
                  err=io.StringIO())
