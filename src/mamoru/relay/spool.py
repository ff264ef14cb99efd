"""The durable spool: one file per accepted message, moved between state directories by atomic renames.

Layout under the spool root::

    tmp/                 being written (never trusted; cleared at start)
    queue/<id>.msg       accepted, waiting for (re)processing
    deferred/<id>.msg    waiting for its next delivery attempt (the schedule is in state/<id>.json)
    sent/<id>.msg        delivered: recorded right after the LGWAN server's 250, its events may still be due
    failed/<id>.msg      held for an operator (5xx, expired, engine error); ``mamoru relay retry`` re-queues it
    released/<id>.msg    delivered releases, kept so that a release id is delivered once (pruned by retention)
    state/<id>.json      per-recipient results and the retry schedule (only once a message needed them)
    events/              one JSON file per event for the web app (see events.py)
    quarantine/ab/<sha256>.eml   the originals, content-addressed (see quarantine.py)

A ``.msg`` file is one line of envelope JSON (spool_id, mail_from, rcpt_tos, received_at, peer …), a newline,
then the original message exactly as received. It is accepted (SMTP 250) only after it was written in ``tmp/``,
fsync'ed, renamed into ``queue/`` and ``queue/`` was fsync'ed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

State = Literal["queue", "deferred", "sent", "failed", "released"]
STATES: tuple[State, ...] = ("queue", "deferred", "sent", "failed", "released")
SPOOL_ID = re.compile(r"^(?:\d{8}T\d{12}-[0-9a-f]{8}|release-[0-9a-f]{32})$")
SUFFIX = ".msg"

RecipientStatus = Literal["pending", "delivered", "failed"]


class SpoolError(Exception):
    """An operator-level problem with the spool (unknown id, wrong state); the message names it."""


# --- durable file primitives -------------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (not yet visible to readers) with ``data`` and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def unique_suffix() -> str:
    """For temporary names: unique in this host's processes without a system call (no secrets needed)."""
    return f"{os.getpid()}-{next(_counter)}"


_counter = itertools.count()


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path``: write a sibling temporary file, fsync, rename, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{unique_suffix()}.tmp")
    try:
        write_file(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_spool_id() -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
    return f"{stamp}{(now // 1000) % 1_000_000:06d}-{random.getrandbits(32):08x}"


def release_spool_id(release_id: str) -> str:
    return "release-" + hashlib.sha256(release_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


# --- what is stored per message ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    spool_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: str
    peer: str
    size: int
    kind: Literal["inbound", "release"] = "inbound"
    release_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rcpt_tos"] = list(self.rcpt_tos)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        return cls(spool_id=str(data["spool_id"]), mail_from=str(data["mail_from"]),
                   rcpt_tos=tuple(str(r) for r in data["rcpt_tos"]), received_at=str(data["received_at"]),
                   peer=str(data.get("peer", "")), size=int(data.get("size", 0)),
                   kind="release" if data.get("kind") == "release" else "inbound",
                   release_id=data.get("release_id"))


@dataclass(frozen=True)
class Recipient:
    status: RecipientStatus = "pending"
    code: int | None = None       # the last answer concerning this recipient
    reply: str = ""
    attempt: int = 0              # the attempt that gave that answer


@dataclass(frozen=True)
class MessageState:
    """What the relay learned about one message beyond its envelope; persisted in state/<id>.json."""

    recipients: dict[str, Recipient]
    attempt: int = 0                      # delivery attempts made so far
    next_attempt_at: float = 0.0          # wall-clock epoch seconds (survives restarts)
    processed: bool = False               # the "processed" event was emitted
    quarantine_id: str = ""
    original_sha256: str = ""
    last_code: int | None = None
    last_reply: str = ""
    failure: str = ""                     # why it sits in failed/
    retried_at: float = 0.0               # an operator re-queued it then: the maximum age counts from there
    unreported: tuple[dict[str, Any], ...] = field(default=())  # events recorded but perhaps not yet emitted
    stored: bool = field(default=False, compare=False)  # read from state/ (not persisted itself)

    @classmethod
    def fresh(cls, envelope: Envelope) -> MessageState:
        return cls(recipients={r: Recipient() for r in envelope.rcpt_tos})

    def pending(self) -> list[str]:
        return [r for r, s in self.recipients.items() if s.status == "pending"]

    def with_recipients(self, changes: dict[str, Recipient]) -> MessageState:
        return replace(self, recipients={**self.recipients, **changes})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unreported"] = list(self.unreported)
        del data["stored"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageState:
        recipients = {str(k): Recipient(**v) for k, v in data.get("recipients", {}).items()}
        known = {f for f in cls.__dataclass_fields__ if f not in {"recipients", "unreported", "stored"}}
        rest = {k: v for k, v in data.items() if k in known}
        return cls(recipients=recipients, unreported=tuple(data.get("unreported", ())), **rest)


@dataclass(frozen=True)
class Entry:
    """A message file as found on disk."""

    spool_id: str
    state: State
    path: Path


# --- the spool ---------------------------------------------------------------------------------------------------


class Spool:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.states = self.root / "state"
        self.events = self.root / "events"
        self.quarantine = self.root / "quarantine"

    def dir(self, state: State) -> Path:
        return self.root / state

    def ensure(self) -> None:
        for name in ("tmp", *STATES, "state", "events", "quarantine"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def clear_tmp(self) -> int:
        """Remove half-written messages (they were never answered 250, so the client still has them)."""
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for child in self.tmp.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        child.unlink()
                removed += 1
        return removed

    # -- accepting ------------------------------------------------------------------------------------------------

    def accept(self, data: bytes, *, mail_from: str, rcpt_tos: Sequence[str], peer: str = "") -> str:
        """Write an accepted message durably into ``queue/`` and return its spool id (then, and only then, 250)."""
        envelope = Envelope(spool_id=new_spool_id(), mail_from=mail_from, rcpt_tos=tuple(rcpt_tos),
                            received_at=utc_now(), peer=peer, size=len(data))
        self._commit(envelope, data)
        return envelope.spool_id

    def enqueue_release(self, raw: bytes, *, mail_from: str, rcpt_tos: Sequence[str], release_id: str) -> str:
        """Queue ``raw`` for delivery as is (not sanitized); idempotent on ``release_id``. Returns the spool id."""
        if not rcpt_tos:
            raise SpoolError("a release needs at least one recipient")
        spool_id = release_spool_id(release_id)
        self.ensure()
        lock = os.open(self.root / "release.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.locate(spool_id) is None:
                self._commit(Envelope(spool_id=spool_id, mail_from=mail_from, rcpt_tos=tuple(rcpt_tos),
                                      received_at=utc_now(), peer="release", size=len(raw), kind="release",
                                      release_id=release_id), raw)
        finally:
            os.close(lock)
        return spool_id

    def _commit(self, envelope: Envelope, data: bytes) -> None:
        name = envelope.spool_id + SUFFIX
        work = self.tmp / f"{name}.{unique_suffix()}"
        try:
            write_file(work, _dump(envelope.to_json()) + b"\n" + data)
            os.rename(work, self.dir("queue") / name)
        except BaseException:
            with contextlib.suppress(OSError):
                work.unlink()
            raise
        fsync_dir(self.dir("queue"))

    # -- finding and reading ------------------------------------------------------------------------------------

    def locate(self, spool_id: str) -> Entry | None:
        if not SPOOL_ID.match(spool_id):
            return None
        for state in STATES:
            path = self.dir(state) / (spool_id + SUFFIX)
            if path.exists():
                return Entry(spool_id, state, path)
        return None

    def open(self, spool_id: str, states: Sequence[State] = STATES) -> tuple[int, Entry] | None:
        """Open a message file for reading (the open is the existence check); the caller closes the descriptor."""
        if not SPOOL_ID.match(spool_id):
            return None
        for state in states:
            path = self.dir(state) / (spool_id + SUFFIX)
            try:
                return os.open(path, os.O_RDONLY), Entry(spool_id, state, path)
            except FileNotFoundError:
                continue
        return None

    def ids(self, state: State) -> list[str]:
        try:
            names = os.listdir(self.dir(state))
        except FileNotFoundError:
            return []
        return sorted(n[:-len(SUFFIX)] for n in names if n.endswith(SUFFIX) and SPOOL_ID.match(n[:-len(SUFFIX)]))

    def entries(self, state: State) -> list[Entry]:
        return [Entry(i, state, self.dir(state) / (i + SUFFIX)) for i in self.ids(state)]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {state: len(self.ids(state)) for state in STATES}
        try:
            counts["events"] = sum(1 for n in os.listdir(self.events) if n.endswith(".json") and n[0] != ".")
        except FileNotFoundError:
            counts["events"] = 0
        return counts

    @staticmethod
    def read(entry: Entry, fd: int | None = None) -> tuple[Envelope, bytes]:
        """The envelope and the original message of a spool file (from ``fd`` when the caller has it open)."""
        if fd is None:
            blob = entry.path.read_bytes()
        else:
            chunks = []
            offset, size = 0, 1 << 16
            while True:
                chunk = os.pread(fd, size, offset)
                chunks.append(chunk)
                offset += len(chunk)
                if len(chunk) < size:
                    break
                size = min(size * 4, 1 << 24)
            blob = b"".join(chunks)
        head, _, raw = blob.partition(b"\n")
        return Envelope.from_json(json.loads(head)), raw

    @staticmethod
    def read_envelope(entry: Entry) -> Envelope:
        with entry.path.open("rb") as f:
            return Envelope.from_json(json.loads(f.readline()))

    def state_path(self, spool_id: str) -> Path:
        return self.states / f"{spool_id}.json"

    def read_state(self, envelope: Envelope) -> MessageState:
        try:
            raw = self.state_path(envelope.spool_id).read_bytes()
        except FileNotFoundError:
            return MessageState.fresh(envelope)
        return replace(MessageState.from_json(json.loads(raw)), stored=True)

    def due_at(self, spool_id: str) -> float:
        """When a deferred message is due (0: now, also when its state cannot be read: process() sorts it out)."""
        try:
            return float(json.loads(self.state_path(spool_id).read_bytes()).get("next_attempt_at", 0.0))
        except (OSError, ValueError, TypeError, AttributeError):
            return 0.0

    def write_state(self, spool_id: str, state: MessageState) -> MessageState:
        replace_file(self.state_path(spool_id), _dump(state.to_json()))
        return replace(state, stored=True)

    def drop_state(self, spool_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.state_path(spool_id).unlink()

    # -- moving ---------------------------------------------------------------------------------------------------

    def move(self, entry: Entry, to: State, *, durable: bool = False) -> Entry:
        """Rename the message file into another state directory. ``durable``: fsync the target directory (the
        delivery record); otherwise a rename lost in a crash only makes the next start look at it again."""
        if entry.state == to:
            return entry
        target = self.dir(to) / entry.path.name
        os.rename(entry.path, target)
        if durable:
            fsync_dir(target.parent)
        return Entry(entry.spool_id, to, target)

    def remove(self, entry: Entry, *, state: bool = True) -> None:
        """A delivered message is finished: its original is in quarantine, its story in the events."""
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
        if state:
            self.drop_state(entry.spool_id)

    def retry(self, spool_id: str) -> Entry:
        """Operator: re-queue a failed message; its failed recipients become pending again, the schedule restarts."""
        entry = self.locate(spool_id)
        if entry is None:
            raise SpoolError(f"no message {spool_id!r} in the spool {self.root}")
        if entry.state != "failed":
            raise SpoolError(f"message {spool_id} is {entry.state}, not failed; only failed messages can be retried")
        envelope = self.read_envelope(entry)
        state = self.read_state(envelope)
        again = {r: replace(s, status="pending") for r, s in state.recipients.items() if s.status == "failed"}
        state = replace(state.with_recipients(again), failure="", next_attempt_at=0.0, retried_at=time.time(),
                        unreported=())
        self.write_state(spool_id, state)
        return self.move(entry, "queue", durable=True)

    def expire_released(self, older_than: datetime) -> list[str]:
        """Forget delivered releases older than ``older_than`` (retention)."""
        limit = older_than.timestamp()
        removed = []
        for entry in self.entries("released"):
            with contextlib.suppress(OSError):
                if entry.path.stat().st_mtime < limit:
                    entry.path.unlink()
                    removed.append(entry.spool_id)
        return removed
