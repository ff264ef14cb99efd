"""Fixtures for the relay tests: a recording SMTP sink (aiosmtpd Controller on 127.0.0.1), a relay running in this
process, small helpers. Everything here is real: real sockets, real files, the real sanitizing engine."""

from __future__ import annotations

import email.policy
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mamoru.relay.server import Relay, RelayConfig
from mamoru.relay.worker import RetryPolicy

HERE = Path(__file__).resolve().parent
DOMAIN = "city.example.lg.jp"
FAST_RETRY = RetryPolicy(base=0.05, factor=2.0, cap=0.2, jitter=0.0, max_age=3600.0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything here tests the relay without a database: marked so the PostgreSQL pass can skip it."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.engine)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_mail(subject: str = "会議のご案内", body: str = "明日の会議は10時からです。\n", *,
              to: str = f"tanaka@{DOMAIN}", sender: str = "partner@example.com",
              message_id: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as an MTA sends it


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class SinkHandler:
    """Records what arrives. ``rcpt_replies[address]`` and ``data_replies`` are queues of replies to give before
    answering normally (250)."""

    messages: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    always_rcpt: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.always_rcpt:
            return self.always_rcpt[address]
        queue = self.rcpt_replies.get(address)
        if queue:
            return queue.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 2.0.0 Ok: stored"


@pytest.fixture
def sink() -> Iterator[tuple[SinkHandler, int]]:
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="lgwan-sink.test")
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def drained(spool_dir: Path) -> bool:
    """Nothing waiting, nothing in flight, nothing held."""
    return all(not any((spool_dir / state).glob("*.msg")) for state in ("queue", "deferred", "sent", "failed"))


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def start_relay(spool_dir: Path) -> Iterator[Callable[..., Relay]]:
    started: list[Relay] = []

    def start(deliver_port: int, **overrides: Any) -> Relay:
        options: dict[str, Any] = {"spool_dir": spool_dir, "deliver_to": ("127.0.0.1", deliver_port),
                                   "accept_domains": (DOMAIN,), "listen": ("127.0.0.1", 0), "retry": FAST_RETRY,
                                   "hostname": "relay.test", "rescan_every": 0.1, "workers": 2,
                                   "delivery_timeout": 5.0}
        options.update(overrides)
        relay = Relay(RelayConfig(**options))
        relay.start()
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()

