"""Workers: take a spooled message, sanitize it, keep the original in quarantine, deliver it, retry or hold it.

:func:`process` is the whole job for one message. It works only through files (the spool, the quarantine store,
the events directory), so it runs the same in a thread or in a worker process, and a restart resumes from what is on
disk. :class:`Scheduler` feeds it: new messages as they are accepted, deferred ones when they are due.

The durable steps of one attempt (see docs/decisions/0010-relay.md):

1. the original goes to the quarantine store (fsync) before the ``processed`` event (fsync);
2. right after the LGWAN server's 250 to DATA the delivery is recorded before anything else: the message file is
   renamed into ``sent/`` and ``sent/`` is fsync'ed (or, when some recipients are still open, ``state/<id>.json``
   is replaced and fsync'ed, with the events it calls for);
3. then the events, then the message file is removed (or moved to ``deferred/`` / ``failed/``).

The sanitized message is never stored: each attempt sanitizes the original again (the engine is deterministic and
the quarantine id is derived from the original's digest).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import heapq
import logging
import multiprocessing
import os
import queue
import random
import re
import select
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal, Protocol

from mamoru.relay import events
from mamoru.relay.quarantine import QuarantineStore
from mamoru.relay.spool import Entry, MessageState, Recipient, Spool, State

log = logging.getLogger("mamoru.relay")


# --- what the relay needs from the engine (mamoru.sanitize.Result) -----------------------------------------------


class ReportLike(Protocol):
    @property
    def quarantine_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    def to_json(self) -> dict[str, Any]: ...


class ResultLike(Protocol):
    @property
    def report(self) -> ReportLike: ...
    @property
    def message(self) -> bytes: ...


SanitizeFn = Callable[[bytes], ResultLike]


_policies: dict[str, Any] = {}


@dataclass(frozen=True)
class EngineSanitizer:
    """The real engine with a policy: given as an object (same process) or as a file that each worker process
    loads once (a plain picklable object either way)."""

    policy: Any = None
    policy_path: str | None = None

    def __call__(self, raw: bytes) -> ResultLike:
        from mamoru.sanitize import sanitize_message

        policy = self.policy
        if policy is None and self.policy_path:
            policy = _policies.get(self.policy_path)
            if policy is None:
                from mamoru.sanitize.policy import load_policy

                policy = _policies[self.policy_path] = load_policy(self.policy_path)
        result: ResultLike = sanitize_message(raw, policy)
        return result

    def __getstate__(self) -> dict[str, Any]:
        # A Policy holds a read-only mapping that does not pickle; worker processes reload it from the file.
        return {"policy": None if self.policy_path else self.policy, "policy_path": self.policy_path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "policy", state["policy"])
        object.__setattr__(self, "policy_path", state["policy_path"])


# --- retry schedule ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap and jitter; after ``max_age`` seconds since arrival a message is held."""

    base: float = 60.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.2          # ± this fraction
    max_age: float = 5 * 86400.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.cap, self.base * self.factor ** max(0, min(attempt - 1, 64)))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, raw * (1.0 + spread))


# --- SMTP delivery -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    timeout: float = 60.0


Verdict = Literal["delivered", "temporary", "permanent"]


@dataclass(frozen=True)
class Answer:
    """What the server said about one recipient in one attempt."""

    verdict: Verdict
    code: int | None
    reply: str


_local = threading.local()
REUSE_CHECK_AFTER = 2.0   # seconds idle before a kept connection is checked with NOOP


def _reply(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:500]


def _verdict(code: int) -> Verdict:
    if 200 <= code < 300:
        return "delivered"
    return "temporary" if 400 <= code < 500 else "permanent"


def _connection(target: Target, hostname: str) -> tuple[smtplib.SMTP, bool]:
    """A per-thread connection to the LGWAN server, reused between messages (checked with NOOP when idle).
    Returns the connection and whether it was reused."""
    cached: tuple[Target, smtplib.SMTP, float] | None = getattr(_local, "conn", None)
    if cached is not None:
        cached_target, conn, last = cached
        if cached_target == target:
            if time.monotonic() - last < REUSE_CHECK_AFTER:
                return conn, True
            try:
                if conn.noop()[0] == 250:
                    return conn, True
            except (smtplib.SMTPException, OSError):
                pass
        _drop_connection()
    conn = smtplib.SMTP(target.host, target.port, local_hostname=hostname, timeout=target.timeout)
    try:
        conn.ehlo_or_helo_if_needed()
    except BaseException:
        conn.close()
        raise
    _local.conn = (target, conn, time.monotonic())
    return conn, False


def _drop_connection() -> None:
    cached = getattr(_local, "conn", None)
    _local.conn = None
    if cached is not None:
        with contextlib.suppress(Exception):
            cached[1].close()


def close_connections() -> None:
    """Say goodbye on this thread's kept connection (workers do when they stop)."""
    cached = getattr(_local, "conn", None)
    if cached is not None:
        with contextlib.suppress(Exception):
            cached[1].quit()
    _drop_connection()


class _Stale(Exception):
    """A kept connection turned out closed before any message data was sent: reconnect and try again."""


def deliver(target: Target, hostname: str, mail_from: str, rcpt_tos: list[str], data: bytes,
            on_accepted: Callable[[dict[str, Answer]], None] | None = None) -> dict[str, Answer]:
    """One SMTP transaction; an answer per recipient. Never raises for SMTP or network trouble.

    ``on_accepted`` is called with the answers right after the server's 250 to DATA: that is where the caller
    records the delivery, before anything else."""
    for _ in range(2):
        try:
            return _transaction(target, hostname, mail_from, rcpt_tos, data, on_accepted)
        except _Stale:
            continue
    return {r: Answer("temporary", None, "connection: closed by the server") for r in rcpt_tos}


def _transaction(target: Target, hostname: str, mail_from: str, rcpt_tos: list[str], data: bytes,
                 on_accepted: Callable[[dict[str, Answer]], None] | None) -> dict[str, Answer]:
    def everyone(verdict: Verdict, code: int | None, reply: str) -> dict[str, Answer]:
        return {r: Answer(verdict, code, reply) for r in rcpt_tos}

    def failure(exc: BaseException) -> dict[str, Answer]:
        code = getattr(exc, "smtp_code", None)
        if isinstance(exc, UnicodeError | smtplib.SMTPNotSupportedError):
            return everyone("permanent", 553, f"cannot send: {exc}"[:500])
        if isinstance(code, int) and code >= 500:
            return everyone("permanent", code, _reply(getattr(exc, "smtp_error", b"")))
        if isinstance(code, int) and code >= 400:
            return everyone("temporary", code, _reply(getattr(exc, "smtp_error", b"")))
        return everyone("temporary", None, f"connection: {type(exc).__name__}: {exc}"[:500])

    try:
        conn, reused = _connection(target, hostname)
    except (OSError, smtplib.SMTPException) as exc:
        _drop_connection()
        return failure(exc)
    sent_data = False
    try:
        options: list[str] = []
        if conn.has_extn("size"):
            options.append(f"SIZE={len(data)}")
        if not all(a.isascii() for a in [mail_from, *rcpt_tos]):
            if not conn.has_extn("smtputf8"):
                return everyone("permanent", 553, "5.6.7 non-ASCII address and the server lacks SMTPUTF8")
            options.append("SMTPUTF8")
        code, resp = conn.mail(mail_from, options)
        if code != 250:
            conn.rset()
            return everyone(_verdict(code), code, _reply(resp))
        answers: dict[str, Answer] = {}
        for rcpt in rcpt_tos:
            code, resp = conn.rcpt(rcpt)
            if code not in (250, 251):
                answers[rcpt] = Answer(_verdict(code) if code >= 300 else "temporary", code, _reply(resp))
        taken = [r for r in rcpt_tos if r not in answers]
        if not taken:
            conn.rset()
            return answers
        sent_data = True
        try:
            code, resp = conn.data(data)
        except smtplib.SMTPDataError as exc:  # no 354: nothing was delivered
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.rset()
            return {**answers, **{r: Answer(_verdict(exc.smtp_code), exc.smtp_code, _reply(exc.smtp_error))
                                  for r in taken}}
        if code == 250:
            result = {**answers, **{r: Answer("delivered", 250, _reply(resp)) for r in taken}}
            if on_accepted is not None:
                on_accepted(result)
            _local.conn = (target, conn, time.monotonic())
            return result
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()
        return {**answers, **{r: Answer(_verdict(code), code, _reply(resp)) for r in taken}}
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:
        _drop_connection()
        if reused and not sent_data and isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
            raise _Stale from exc
        return failure(exc)


# --- the job -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerConfig:
    spool_dir: Path
    target: Target
    retry: RetryPolicy = RetryPolicy()
    sanitize: SanitizeFn | None = None      # default: the real engine with ``policy``
    policy: Any = None
    policy_path: str | None = None          # the policy's file: worker processes load it from there
    quarantine_dir: Path | None = None      # default: <spool>/quarantine
    hostname: str = "mamoru-relay"

    def sanitizer(self) -> SanitizeFn:
        if self.sanitize is not None:
            return self.sanitize
        return EngineSanitizer(self.policy, self.policy_path)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.policy_path:
            state["policy"] = None  # reloaded from policy_path in the worker process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)


@dataclass(frozen=True)
class Outcome:
    spool_id: str
    state: Literal["done", "deferred", "failed", "busy", "gone"]
    next_attempt_at: float = 0.0
    detail: str = ""


_EOL = re.compile(rb"\r?\n")


def crlf(data: bytes) -> bytes:
    return _EOL.sub(b"\r\n", data)


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def process(config: WorkerConfig, spool_id: str) -> Outcome:
    """Do everything that is due for one message. Never raises: trouble becomes a deferral or a hold."""
    spool = Spool(config.spool_dir)
    try:
        opened = spool.open(spool_id, ACTIVE)
    except OSError as exc:
        return _defer_after_error(config, spool, spool_id, f"cannot open: {exc}")
    if opened is None:
        return Outcome(spool_id, "gone")
    fd, entry = opened
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Outcome(spool_id, "busy", time.time() + 1.0)
        try:
            moved = os.stat(entry.path).st_ino != os.fstat(fd).st_ino
        except FileNotFoundError:
            moved = True
        if moved:  # another worker moved it before we held the lock; look again next time
            return Outcome(spool_id, "busy", time.time() + 0.1)
        try:
            job = _Job(config, spool, entry, fd)
        except (ValueError, KeyError, TypeError) as exc:  # not a spool file this relay wrote: an operator looks
            log.error("relay: unreadable spool file %s: %s", entry.path, exc)
            spool.move(entry, "failed")
            return Outcome(spool_id, "failed", detail=f"unreadable spool file: {exc}")
        return job.run()
    except Exception as exc:  # a bug or a broken spool file: never lose the message, never spin
        log.exception("relay: unexpected error on %s", spool_id)
        return _defer_after_error(config, spool, spool_id, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        os.close(fd)


ACTIVE: tuple[State, ...] = ("queue", "sent", "deferred")


def _defer_after_error(config: WorkerConfig, spool: Spool, spool_id: str, why: str) -> Outcome:
    try:
        entry = spool.locate(spool_id)
        if entry is None or entry.state not in ("queue", "deferred"):
            return Outcome(spool_id, "gone" if entry is None else "busy", time.time() + config.retry.base)
        envelope = spool.read_envelope(entry)
        state = spool.read_state(envelope)
        attempt = state.attempt + 1
        due = time.time() + config.retry.delay(attempt)
        spool.write_state(spool_id, replace(state, attempt=attempt, next_attempt_at=due, last_code=None,
                                            last_reply=why[:500]))
        spool.move(entry, "deferred")
        return Outcome(spool_id, "deferred", due, why)
    except Exception:
        log.exception("relay: cannot even record the error on %s; retrying later", spool_id)
        return Outcome(spool_id, "deferred", time.time() + config.retry.base, why)


class _Job:
    def __init__(self, config: WorkerConfig, spool: Spool, entry: Entry, fd: int) -> None:
        self.config, self.spool, self.entry = config, spool, entry
        self.envelope, self.raw = spool.read(entry, fd)
        self.state: MessageState = spool.read_state(self.envelope)

    @property
    def spool_id(self) -> str:
        return self.envelope.spool_id

    def event(self, name: str, rcpts: list[str], *, code: int | None = None, reply: str = "",
              report: dict[str, Any] | None = None, attempt: int | None = None) -> dict[str, Any]:
        env, st = self.envelope, self.state
        return events.make_event(name, spool_id=env.spool_id, mail_from=env.mail_from, rcpt_tos=rcpts,
                                 quarantine_id=st.quarantine_id, original_sha256=st.original_sha256, report=report,
                                 smtp_code=code, smtp_reply=reply,
                                 attempt=st.attempt if attempt is None else attempt, release_id=env.release_id)

    def emit(self, *evs: dict[str, Any]) -> None:
        for ev in evs:
            events.emit(self.spool.root, ev)

    def run(self) -> Outcome:
        self.emit(*self.state.unreported)  # a crash came between recording them and emitting them
        self.state = replace(self.state, unreported=())
        if self.entry.state == "sent":  # recorded as delivered; the crash came before the event
            self.identify()
            pending = self.state.pending()
            kind = "released" if self.envelope.kind == "release" else "delivered"
            self.emit(self.event(kind, pending, code=250, reply="(delivered before a restart)",
                                 attempt=self.state.attempt + 1))
            return self.finish()
        if not self.state.pending():
            return self.settle()
        if self.state.next_attempt_at > time.time() + 0.5:  # not due yet (e.g. re-queued by a lost rename)
            self.entry = self.spool.move(self.entry, "deferred")
            return Outcome(self.spool_id, "deferred", self.state.next_attempt_at)
        data = self.prepare()
        if data is None:
            return self.hold_all(self.state.failure)
        return self.attempt(data)

    # -- sanitize (again at each attempt: nothing but the original is stored) ------------------------------------

    def identify(self) -> None:
        if not self.state.original_sha256:
            digest = hashlib.sha256(self.raw).hexdigest()
            self.state = replace(self.state, original_sha256=digest, quarantine_id="Q" + digest[:20])

    def prepare(self) -> bytes | None:
        """The bytes to deliver: the original for a release, else the sanitized message. None: the engine failed
        (the reason is in ``state.failure``)."""
        env = self.envelope
        if env.kind == "release":
            self.identify()
            return crlf(self.raw)
        try:
            result = self.config.sanitizer()(self.raw)
            report = result.report.to_json() if not self.state.processed else None
            quarantine_id = str(result.report.quarantine_id)
            sanitized = bytes(result.message)
        except Exception as exc:  # the engine promises never to raise; if it does, an operator decides
            log.exception("relay: the sanitizer failed on %s", env.spool_id)
            self.state = replace(self.state, failure=f"engine error: {type(exc).__name__}: {exc}"[:500])
            return None
        if not self.state.processed:
            store = QuarantineStore(self.config.quarantine_dir or self.spool.quarantine)
            digest = store.put(self.raw)
            self.state = replace(self.state, processed=True, quarantine_id=quarantine_id, original_sha256=digest)
            self.emit(self.event("processed", list(env.rcpt_tos), report=report))
        trace = (f"Received: from {env.peer or 'unknown'} by {self.config.hostname} (Mamoru relay) with ESMTP id "
                 f"{env.spool_id};\r\n\t{formatdate(_epoch(env.received_at))}\r\n").encode("ascii", "replace")
        return trace + crlf(sanitized)

    def hold_all(self, why: str) -> Outcome:
        pending = self.state.pending()
        self.state = self.state.with_recipients(
            {r: Recipient("failed", None, why, self.state.attempt) for r in pending})
        self.state = replace(self.state, failure=why, last_code=None, last_reply=why)
        self.state = self.spool.write_state(self.spool_id, self.state)
        self.emit(self.event("failed", pending, reply=why))
        self.entry = self.spool.move(self.entry, "failed")
        return Outcome(self.spool_id, "failed", detail=why)

    # -- one delivery attempt -------------------------------------------------------------------------------------

    def attempt(self, data: bytes) -> Outcome:
        env = self.envelope
        pending = self.state.pending()
        number = self.state.attempt + 1
        recorded: list[str] = []
        earlier_failures = any(r.status == "failed" for r in self.state.recipients.values())

        def record(answers: dict[str, Answer]) -> None:
            # The LGWAN server said 250 to DATA: make that durable before anything else.
            if all(a.verdict == "delivered" for a in answers.values()) and not earlier_failures:
                self.entry = self.spool.move(self.entry, "sent", durable=True)
                recorded.append("sent")
            else:
                self.state = self.spool.write_state(self.spool_id, self.apply(answers, number))
                recorded.append("state")

        answers = deliver(self.config.target, self.config.hostname, env.mail_from, pending, data, record)
        if recorded == ["sent"]:
            first = next(iter(answers.values()))
            kind = "released" if env.kind == "release" else "delivered"
            self.emit(self.event(kind, pending, code=first.code, reply=first.reply, attempt=number))
            return self.finish()
        if recorded:
            self.emit(*self.state.unreported)
            if self.state.pending():
                self.state = self.spool.write_state(self.spool_id, replace(self.state, unreported=()))
            return self.settle()
        self.state = self.apply(answers, number)
        self.emit(*self.state.unreported)
        self.state = self.spool.write_state(self.spool_id, replace(self.state, unreported=()))
        return self.settle()

    def apply(self, answers: dict[str, Answer], number: int) -> MessageState:
        """The new state after one attempt, with the events it calls for (in ``unreported``)."""
        now = time.time()
        since = max(_epoch(self.envelope.received_at), self.state.retried_at)
        expired = now - since >= self.config.retry.max_age
        changes: dict[str, Recipient] = {}
        delivered: list[str] = []
        failed: list[str] = []
        deferred: list[str] = []
        for rcpt, answer in answers.items():
            if answer.verdict == "delivered":
                changes[rcpt] = Recipient("delivered", answer.code, answer.reply, number)
                delivered.append(rcpt)
            elif answer.verdict == "permanent" or expired:
                reply = answer.reply if answer.verdict == "permanent" else \
                    f"gave up after {number} attempts: {answer.reply}"
                changes[rcpt] = Recipient("failed", answer.code, reply, number)
                failed.append(rcpt)
            else:
                changes[rcpt] = Recipient("pending", answer.code, answer.reply, number)
                deferred.append(rcpt)
        state = self.state.with_recipients(changes)
        bad = [changes[r] for r in failed + deferred]
        last = bad[0] if bad else next(iter(changes.values()), Recipient())
        due = now + self.config.retry.delay(number) if deferred else 0.0
        failure = ""
        if not deferred:
            failure = "; ".join(f"{r}: {s.code or ''} {s.reply}".strip()
                                for r, s in state.recipients.items() if s.status == "failed")[:1000]
        state = replace(state, attempt=number, next_attempt_at=due, last_code=last.code, last_reply=last.reply,
                        failure=failure)
        out: list[dict[str, Any]] = []
        if delivered:
            first = answers[delivered[0]]
            kind = "released" if self.envelope.kind == "release" else "delivered"
            out.append(self.event(kind, delivered, code=first.code, reply=first.reply, attempt=number))
        if failed:
            f = changes[failed[0]]
            out.append(self.event("failed", failed, code=f.code, reply=f.reply, attempt=number))
        if deferred:
            d = answers[deferred[0]]
            out.append(self.event("deferred", deferred, code=d.code, reply=d.reply, attempt=number))
        return replace(state, unreported=tuple(out))

    def settle(self) -> Outcome:
        """Move the message where its state says it belongs."""
        if self.state.pending():
            self.entry = self.spool.move(self.entry, "deferred")
            return Outcome(self.spool_id, "deferred", self.state.next_attempt_at, self.state.last_reply)
        if any(r.status == "failed" for r in self.state.recipients.values()):
            self.entry = self.spool.move(self.entry, "failed")
            return Outcome(self.spool_id, "failed", detail=self.state.failure)
        return self.finish()

    def finish(self) -> Outcome:
        """Every recipient has it: the original is in quarantine and the story in the events."""
        if self.envelope.kind == "release":  # kept, so that the same release id is not delivered again
            self.entry = self.spool.move(self.entry, "released")
            self.spool.drop_state(self.spool_id)
        else:
            self.spool.remove(self.entry, state=self.state.stored)
        return Outcome(self.spool_id, "done")


# --- the scheduler -----------------------------------------------------------------------------------------------


def _worker_init(relay_pid: int) -> None:
    """Worker processes die with the relay: a kill -9 of the relay must not leave deliverers behind to race the next
    start. (Their parent is multiprocessing's fork server, which the workers themselves keep alive, so a parent-death
    signal would not do.)"""
    def watch() -> None:
        try:
            fd = os.pidfd_open(relay_pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the relay has exited
        else:
            while True:
                try:
                    os.kill(relay_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="relay-watchdog", daemon=True).start()


def _run_in_worker(config: WorkerConfig, spool_id: str) -> Outcome:
    return process(config, spool_id)


class Scheduler:
    """Feeds :func:`process`: accepted messages go straight to a ready queue that the workers take from; a timer
    thread moves deferred messages there when they are due and scans the spool for what it does not know yet
    (after a restart, releases and ``retry`` from other processes).

    ``kind="thread"``: each worker is a thread that runs the job. ``kind="process"``: each worker thread hands the
    job to a pool of worker processes (the sanitizer is CPU-bound Python). The job is the same file-based function.
    """

    def __init__(self, config: WorkerConfig, *, workers: int = 2, kind: Literal["thread", "process"] = "thread",
                 rescan_every: float = 1.0, retention_days: int | None = None) -> None:
        self.config = config
        self.spool = Spool(config.spool_dir)
        self.workers = max(1, workers)
        self.kind = kind
        self.rescan_every = rescan_every
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._ready: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._known: set[str] = set()              # ready, running or waiting in the heap
        self._heap: list[tuple[float, str]] = []   # deferred: (due, spool id)
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.outcomes: dict[str, int] = {}

    # -- control --------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.spool.ensure()
        self.spool.clear_tmp()
        events.recover(self.spool.root)
        if self.kind == "process":
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_worker_init,
                initargs=(os.getpid(),))
        self._scan()
        self._threads = [threading.Thread(target=self._work, name=f"relay-worker-{n}", daemon=True)
                         for n in range(self.workers)]
        self._threads.append(threading.Thread(target=self._timer, name="relay-timer", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to ``timeout``); what is still queued stays on disk for the next start."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        for _ in range(self.workers):
            self._ready.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def notify(self, spool_id: str) -> None:
        """A message was just accepted into queue/: hand it to the next free worker."""
        with self._lock:
            if spool_id in self._known or self._stopping:
                return
            self._known.add(spool_id)
        self._ready.put(spool_id)

    # -- internals ------------------------------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._work_loop()
        finally:
            close_connections()

    def _work_loop(self) -> None:
        while True:
            spool_id = self._ready.get()
            if spool_id is None or self._stopping:  # what is left stays on disk for the next start
                return
            try:
                if self._pool is not None:
                    outcome = self._pool.submit(_run_in_worker, self.config, spool_id).result()
                else:
                    outcome = process(self.config, spool_id)
            except BaseException as exc:  # a worker process died, or the pool is shutting down
                log.warning("relay: job for %s did not finish: %s", spool_id, exc)
                outcome = Outcome(spool_id, "busy", time.time() + 1.0)
            with self._lock:
                self.outcomes[outcome.state] = self.outcomes.get(outcome.state, 0) + 1
                if outcome.state in ("deferred", "busy") and not self._stopping:
                    heapq.heappush(self._heap, (outcome.next_attempt_at, spool_id))
                    wake = self._heap[0][1] == spool_id
                else:
                    self._known.discard(spool_id)
                    wake = False
            if wake:
                self._wake.set()

    def _timer(self) -> None:
        next_scan = time.monotonic() + self.rescan_every
        next_housekeeping = time.monotonic()
        while True:
            with self._lock:
                if self._stopping:
                    return
                now = time.time()
                due: list[str] = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[1])
                wait = self._heap[0][0] - now if self._heap else self.rescan_every
            for spool_id in due:
                self._ready.put(spool_id)
            now_mono = time.monotonic()
            if now_mono >= next_scan:
                try:
                    self._scan()
                except OSError as exc:
                    log.warning("relay: cannot scan the spool: %s", exc)
                next_scan = now_mono + self.rescan_every
            if now_mono >= next_housekeeping:
                self._housekeeping()
                next_housekeeping = now_mono + 3600.0
            self._wake.wait(max(0.001, min(wait, next_scan - time.monotonic())))
            self._wake.clear()

    def _scan(self) -> None:
        """Pick up what is on disk but not known here."""
        queued = self.spool.ids("sent") + self.spool.ids("queue")
        deferred = self.spool.ids("deferred")
        with self._lock:
            fresh = [i for i in queued if i not in self._known]
            later = [i for i in deferred if i not in self._known]
            self._known.update(fresh)
            self._known.update(later)
        for spool_id in fresh:
            self._ready.put(spool_id)
        if later:
            dues = [(self.spool.due_at(i), i) for i in later]
            with self._lock:
                for item in dues:
                    heapq.heappush(self._heap, item)
            self._wake.set()

    def _housekeeping(self) -> None:
        if not self.retention_days:
            return
        limit = datetime.now(UTC) - timedelta(days=self.retention_days)
        try:
            store = QuarantineStore(self.config.quarantine_dir or self.spool.quarantine)
            gone = store.expire(limit)
            done = self.spool.expire_released(limit)
            if gone or done:
                log.info("relay: retention removed %d originals and %d release records", len(gone), len(done))
        except OSError as exc:
            log.warning("relay: retention sweep failed: %s", exc)


def default_hostname() -> str:
    return socket.gethostname() or "mamoru-relay"
