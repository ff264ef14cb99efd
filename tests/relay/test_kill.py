"""THE KILL TEST: the relay as a subprocess, 1,000 messages over several connections, ``kill -9`` in the middle,
a restart, and the client resending what it got no 250 for (as a real MTA does). Every message the client got 250
for must reach the LGWAN side, and the only duplicates allowed are the messages in flight at the kill."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from .conftest import DOMAIN, SinkHandler, drained, free_port, make_mail, wait_for

MESSAGES = 1000
CONNECTIONS = 4
KILL_AFTER = 400
MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)
RELAY = [sys.executable, "-m", "mamoru.relay.cli"]


def start_relay(spool: Path, port: int, sink_port: int) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = (spool.parent / "relay.log").open("ab")
    proc = subprocess.Popen(
        [*RELAY, "serve", "--listen", f"127.0.0.1:{port}", "--deliver-to", f"127.0.0.1:{sink_port}",
         "--spool", str(spool), "--accept-domain", DOMAIN, "--workers", "2", "--hostname", "relay.test",
         "--retry-base", "0.2", "--retry-cap", "1"],
        stdout=subprocess.DEVNULL, stderr=log)
    return proc, log


def wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    def up() -> bool:
        assert proc.poll() is None, "the relay exited"
        try:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=2) as probe:
                return probe.noop()[0] == 250
        except OSError:
            return False
    wait_for(up, timeout=20, what="the relay to listen")


def in_flight(spool: Path) -> set[str]:
    """The Message-IDs accepted but not recorded as delivered (in queue/ or deferred/, not yet moved to sent/):
    what a restart delivers, a second time if the first try had got through."""
    ids = set()
    for state in ("queue", "deferred"):
        for path in (spool / state).glob("*.msg"):
            found = MESSAGE_ID.search(path.read_bytes().partition(b"\n")[2])
            assert found, f"{path} has no Message-ID"
            ids.add(found.group(1).decode())
    return ids


def test_kill_9_in_the_middle_loses_nothing(sink: tuple[SinkHandler, int], tmp_path: Path) -> None:
    handler, sink_port = sink
    spool, port = tmp_path / "spool", free_port()
    todo = [make_mail(subject=f"試験メール {n}", body=f"{n} 通目の本文です。\n", message_id=f"<kill-{n}@example.com>")
            for n in range(MESSAGES)]
    lock = threading.Lock()
    acked: set[int] = set()
    unsent = list(range(MESSAGES))
    failures = [0]
    stop = threading.Event()

    def client() -> None:
        conn: smtplib.SMTP | None = None
        while not stop.is_set():
            with lock:
                if not unsent:
                    break
                n = unsent.pop(0)
            try:
                if conn is None:
                    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10)
                conn.sendmail("partner@example.com", [f"user{n % 7}@{DOMAIN}"], todo[n])
                with lock:
                    acked.add(n)
            except (OSError, smtplib.SMTPException):
                with lock:  # no 250: resend it later, like an MTA
                    unsent.append(n)
                    failures[0] += 1
                if conn is not None:
                    with contextlib.suppress(OSError):
                        conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.quit()

    t0 = time.monotonic()
    proc, log = start_relay(spool, port, sink_port)
    try:
        wait_listening(proc, port)
        clients = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
        for c in clients:
            c.start()
        wait_for(lambda: len(acked) >= KILL_AFTER, timeout=30, what=f"{KILL_AFTER} accepted messages")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with lock:
            acked_at_kill = len(acked)
        window = in_flight(spool)
        delivered_at_kill = len(handler.messages)

        proc, log = start_relay(spool, port, sink_port)
        wait_listening(proc, port)
        for c in clients:
            c.join(timeout=60)
        assert len(acked) == MESSAGES, "the client could not hand over every message"

        wait_for(lambda: drained(spool), timeout=60, what="the spool to drain")
    finally:
        stop.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()
    assert proc.returncode == 0, (tmp_path / "relay.log").read_text()

    received = [MESSAGE_ID.search(m.data) for m in handler.messages]
    assert all(received), "a delivered message lost its Message-ID"
    ids = [m.group(1).decode() for m in received if m]
    unique = set(ids)
    duplicates = {i for i in unique if ids.count(i) > 1}
    assert unique == {f"<kill-{n}@example.com>" for n in range(MESSAGES)}  # every acknowledged one, nothing else
    assert duplicates <= window, f"duplicates that were not in flight at the kill: {sorted(duplicates - window)}"
    assert len(ids) - len(unique) <= len(window)
    print(f"\nkill test: killed after {acked_at_kill} accepted ({delivered_at_kill} delivered), {len(window)} in "
          f"flight at the kill, {len(ids) - len(unique)} duplicates, {failures[0]} client resends, "
          f"{time.monotonic() - t0:.1f} s")
