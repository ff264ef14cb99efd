"""Release from quarantine: the original goes out as is, through the same durable queue, exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mamoru.relay import events
from mamoru.relay.server import Relay
from mamoru.relay.spool import Spool, SpoolError

from .conftest import DOMAIN, SinkHandler, make_mail, wait_for


def test_a_release_is_delivered_as_is_once_even_when_enqueued_twice(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    relay = start_relay(port)
    raw = make_mail(subject="請求書（マクロ付き）", message_id="<held-1@example.com>")
    spool = Spool(spool_dir)  # what the web application does, from its own process
    first = spool.enqueue_release(raw, mail_from="partner@example.com", rcpt_tos=[f"tanaka@{DOMAIN}"],
                                  release_id="release-42")
    second = spool.enqueue_release(raw, mail_from="partner@example.com", rcpt_tos=[f"tanaka@{DOMAIN}"],
                                   release_id="release-42")
    assert first == second
    wait_for(lambda: relay.spool.counts()["released"] == 1, what="the release's delivery")
    third = spool.enqueue_release(raw, mail_from="partner@example.com", rcpt_tos=[f"tanaka@{DOMAIN}"],
                                  release_id="release-42")
    assert third == first
    (got,) = handler.messages
    assert got.data == raw  # not sanitized, not even a trace header
    assert got.mail_from == "partner@example.com" and got.rcpt_tos == [f"tanaka@{DOMAIN}"]
    (released,) = [e for _, e in events.read_events(spool_dir)]
    assert released["event"] == "released" and released["release_id"] == "release-42"
    assert released["smtp_code"] == 250 and released["spool_id"] == first
    assert not (spool_dir / "quarantine").exists() or not any((spool_dir / "quarantine").iterdir())


def test_a_second_release_id_is_a_second_delivery(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    handler, port = sink
    relay = start_relay(port)
    raw = make_mail()
    for release_id in ("a", "b"):
        Spool(spool_dir).enqueue_release(raw, mail_from="", rcpt_tos=[f"tanaka@{DOMAIN}"], release_id=release_id)
    wait_for(lambda: relay.spool.counts()["released"] == 2, what="both releases")
    assert len(handler.messages) == 2 and handler.messages[0].mail_from == "<>"  # the null sender


def test_a_release_needs_a_recipient(tmp_path: Path) -> None:
    with pytest.raises(SpoolError):
        Spool(tmp_path).enqueue_release(b"x", mail_from="", rcpt_tos=[], release_id="r")
