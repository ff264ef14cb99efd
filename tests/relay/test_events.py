"""The event files the web application consumes."""

from __future__ import annotations

import json
from pathlib import Path

from mamoru.relay import events


def test_events_are_read_oldest_first_and_deleted_on_acknowledge(tmp_path: Path) -> None:
    for n, kind in enumerate(("processed", "deferred", "delivered")):
        events.emit(tmp_path, events.make_event(kind, spool_id=f"s{n}", mail_from="a@example.com",
                                                rcpt_tos=["b@city.example.lg.jp"], attempt=n))
    seen = list(events.read_events(tmp_path))
    assert [e["event"] for _, e in seen] == ["processed", "deferred", "delivered"]
    first = seen[0][1]
    assert set(first) >= {"event", "spool_id", "at", "mail_from", "rcpt_tos", "quarantine_id", "original_sha256",
                          "report", "smtp_code", "smtp_reply", "attempt"}
    assert first["at"].endswith("Z")
    for path, _ in seen[:2]:
        events.acknowledge(path)
        events.acknowledge(path)  # twice is harmless
    assert [e["event"] for _, e in events.read_events(tmp_path)] == ["delivered"]


def test_a_foreign_unreadable_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "0-broken.json").write_bytes(b"{not json")
    events.emit(tmp_path, events.make_event("processed", spool_id="s", mail_from="", rcpt_tos=[]))
    assert [e["spool_id"] for _, e in events.read_events(tmp_path)] == ["s"]
    assert (tmp_path / "events" / "unreadable" / "0-broken.json").exists()


def test_no_events_directory_means_no_events(tmp_path: Path) -> None:
    assert list(events.read_events(tmp_path / "nowhere")) == []


def test_an_event_whose_rename_a_crash_lost_is_put_in_place_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    complete = events.make_event("delivered", spool_id="s1", mail_from="", rcpt_tos=["b@city.example.lg.jp"])
    (folder / ".00000000000000000001-s1-delivered-1.json.tmp").write_text(json.dumps(complete))
    (folder / ".00000000000000000002-s2-processed-0.json.tmp").write_text('{"event": "proc')  # cut by the crash
    assert events.recover(tmp_path) == 1
    assert [(p.name, e["spool_id"]) for p, e in events.read_events(tmp_path)] == [
        ("00000000000000000001-s1-delivered-1.json", "s1")]
    assert sorted(p.name for p in folder.iterdir()) == ["00000000000000000001-s1-delivered-1.json"]
