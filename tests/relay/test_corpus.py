"""The real-world corpus (read by path, never copied) through the relay over SMTP: every message that SMTP can
carry is delivered sanitized (or as the engine's notice), its original kept byte for byte, nothing held or lost."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest

from mamoru.relay import events
from mamoru.relay.quarantine import QuarantineStore
from mamoru.relay.server import Relay

from .conftest import DOMAIN, SinkHandler, drained, wait_for

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "email"
EOL = re.compile(rb"\r?\n")
QUARANTINE_ID = re.compile(rb"^X-Mamoru-Quarantine-Id: Q[0-9a-f]{20}\r?$", re.MULTILINE)


def test_every_corpus_message_comes_out_sanitized_and_its_original_stays_in_quarantine(
        sink: tuple[SinkHandler, int], start_relay: Callable[..., Relay], spool_dir: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared not available: {CORPUS} is missing, the real-world mail corpus cannot be read")
    handler, port = sink
    relay = start_relay(port, workers=2)
    sent: dict[str, bytes] = {}
    refused: list[str] = []
    with smtplib.SMTP(*relay.address, local_hostname="client.test", timeout=30) as client:
        for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
            raw = EOL.sub(b"\r\n", path.read_bytes())  # an MTA sends CRLF
            if not raw.endswith(b"\r\n"):
                raw += b"\r\n"
            name = str(path.relative_to(CORPUS))
            try:
                client.sendmail("list@example.org", [f"tanaka@{DOMAIN}"], raw)
            except smtplib.SMTPDataError as exc:  # lines over 998 bytes: SMTP cannot carry them (RFC 5321 4.5.3.1.6)
                assert exc.smtp_code == 500 and any(len(line) > 1000 for line in raw.split(b"\r\n")), name
                refused.append(name)
                client.rset()
                continue
            sent[name] = raw
    assert len(sent) >= 300, f"only {len(sent)} corpus messages went through; refused: {refused}"
    wait_for(lambda: len(handler.messages) == len(sent), timeout=60, what="every corpus message delivered")
    wait_for(lambda: drained(spool_dir), what="the spool to empty")
    for got in handler.messages:
        head = got.data.partition(b"\r\n\r\n")[0]
        assert QUARANTINE_ID.search(head), head[:300]
    store = QuarantineStore(spool_dir / "quarantine")
    processed = [e for _, e in events.read_events(spool_dir) if e["event"] == "processed"]
    assert len(processed) == len(sent)
    originals = {store.get(e["original_sha256"]) for e in processed}
    assert originals == set(sent.values())
