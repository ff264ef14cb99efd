"""Events for the web application: one JSON file per significant step in ``<spool>/events/``.

Each file is written atomically (temporary name starting with a dot, fsync, rename; see :func:`emit`), named
``<nanoseconds>-<spool id>-<event>-<attempt>.json`` so that a name sort is oldest first. The consumer reads with
:func:`read_events`, commits what it learned, then calls :func:`acknowledge` to delete the file.

After a crash an event may be emitted twice (only for a message that was being worked on); consumers treat
``(spool_id, event, attempt, rcpt_tos)`` as the identity of an event.

Keys: ``event`` (processed | delivered | deferred | failed | released), ``spool_id``, ``at`` (ISO 8601 UTC),
``mail_from``, ``rcpt_tos`` (the recipients this event is about), ``quarantine_id``, ``original_sha256``,
``report`` (the engine's Report.to_json(), on processed; else null), ``smtp_code`` (int or null), ``smtp_reply``,
``attempt``, ``release_id`` (releases only; else null).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mamoru.relay.spool import fsync_dir, utc_now, write_file

EVENTS = ("processed", "delivered", "deferred", "failed", "released")
TMP = ".tmp"


def make_event(event: str, *, spool_id: str, mail_from: str, rcpt_tos: Sequence[str], quarantine_id: str = "",
               original_sha256: str = "", report: dict[str, Any] | None = None, smtp_code: int | None = None,
               smtp_reply: str = "", attempt: int = 0, release_id: str | None = None) -> dict[str, Any]:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    return {"event": event, "spool_id": spool_id, "at": utc_now(), "mail_from": mail_from,
            "rcpt_tos": list(rcpt_tos), "quarantine_id": quarantine_id, "original_sha256": original_sha256,
            "report": report, "smtp_code": smtp_code, "smtp_reply": smtp_reply, "attempt": attempt,
            "release_id": release_id}


def emit(spool_dir: str | Path, event: dict[str, Any]) -> Path:
    """Append one event durably; returns its file.

    The file is fsync'ed before the rename; the directory is not: a rename lost in a crash leaves the complete,
    fsync'ed temporary file, which :func:`recover` (run by the relay at start) puts in place."""
    folder = Path(spool_dir) / "events"
    name = f"{time.time_ns():020d}-{event['spool_id']}-{event['event']}-{int(event.get('attempt') or 0)}.json"
    target = folder / name
    tmp = folder / f".{name}{TMP}"
    data = json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8")
    try:
        try:
            write_file(tmp, data)
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            write_file(tmp, data)
        os.rename(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def recover(spool_dir: str | Path) -> int:
    """Put in place the events whose rename a crash may have lost (only while nothing emits); returns how many."""
    folder = Path(spool_dir) / "events"
    recovered = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(TMP)]
    except FileNotFoundError:
        return 0
    for name in names:
        path = folder / name
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):  # complete (it was fsync'ed before any rename was tried)
            os.rename(path, folder / name[1:-len(TMP)])
            recovered += 1
        else:  # the crash came while writing it: its step will run again
            with contextlib.suppress(OSError):
                path.unlink()
    if recovered:
        fsync_dir(folder)
    return recovered


def read_events(spool_dir: str | Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The pending events, oldest first. A file that is not a JSON object (it cannot come from :func:`emit`) is
    moved to ``events/unreadable/`` and skipped."""
    folder = Path(spool_dir) / "events"
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return
    for name in names:
        path = folder / name
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            continue  # acknowledged meanwhile by another consumer
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            bad = folder / "unreadable"
            bad.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                os.rename(path, bad / name)
            continue
        yield path, data


def acknowledge(path: str | Path) -> None:
    """Delete an event the consumer has committed (a second acknowledge is harmless)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
