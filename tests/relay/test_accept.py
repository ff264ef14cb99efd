"""The SMTP layer's plain functions, called without a socket: who may receive, what gets spooled, and when."""

from __future__ import annotations

import json
from pathlib import Path

from mamoru.relay.server import accept_message, check_recipient
from mamoru.relay.spool import Spool

from .conftest import DOMAIN, make_mail

DOMAINS = frozenset({DOMAIN})


def test_recipients_in_an_accepted_domain_get_250_others_550() -> None:
    assert check_recipient(f"<tanaka@{DOMAIN}>", DOMAINS)[0] == 250
    assert check_recipient(f"Tanaka@{DOMAIN.upper()}.", DOMAINS)[0] == 250
    code, text = check_recipient("someone@example.com", DOMAINS)
    assert code == 550 and "example.com" in text
    # a subdomain or a look-alike is another domain
    assert check_recipient(f"x@mail.{DOMAIN}", DOMAINS)[0] == 550
    assert check_recipient(f"x@{DOMAIN}.evil.example", DOMAINS)[0] == 550
    assert check_recipient("no-at-sign", DOMAINS)[0] == 501
    assert check_recipient(f"x@{DOMAIN}", DOMAINS, already=100)[0] == 452


def test_an_accepted_message_is_on_disk_with_its_envelope_before_the_250(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    raw = make_mail()
    (code, text), spool_id = accept_message(spool, raw, mail_from="partner@example.com",
                                            rcpt_tos=[f"tanaka@{DOMAIN}"], peer="192.0.2.7")
    assert code == 250 and spool_id is not None and spool_id in text
    stored = (tmp_path / "queue" / f"{spool_id}.msg").read_bytes()
    head, _, original = stored.partition(b"\n")
    assert original == raw  # byte for byte what the client sent
    envelope = json.loads(head)
    assert envelope["mail_from"] == "partner@example.com"
    assert envelope["rcpt_tos"] == [f"tanaka@{DOMAIN}"]
    assert envelope["peer"] == "192.0.2.7" and envelope["spool_id"] == spool_id
    assert envelope["received_at"].endswith("Z")
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing half-written left behind


def test_oversize_is_refused_with_552_and_nothing_is_spooled(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    (code, _), spool_id = accept_message(spool, b"x" * 1001, mail_from="a@example.com",
                                         rcpt_tos=[f"b@{DOMAIN}"], max_size=1000)
    assert code == 552 and spool_id is None
    assert spool.counts()["queue"] == 0


def test_a_spool_that_cannot_be_written_gives_a_temporary_451(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the spool directory should be")
    (code, text), spool_id = accept_message(Spool(blocker), b"Subject: x\r\n\r\nx\r\n", mail_from="a@example.com",
                                            rcpt_tos=[f"b@{DOMAIN}"])
    assert code == 451 and spool_id is None and "try again" in text
