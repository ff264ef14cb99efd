"""Sanitizing relay, end to end with fsync: smtplib clients on several connections → ``mamoru relay serve`` (a
subprocess, the real engine) → a local aiosmtpd sink. Target: ≥ 100 messages/s delivered end to end
on a 2-core machine.

Prints, per setup (worker kind × number of workers): messages/s accepted (the clients' last 250), messages/s
delivered end to end (the sink's last arrival), and the relay's CPU time per message (its processes, from /proc);
then the baseline — the same clients sending straight to the sink — and the ratio relay / baseline. Asserts nothing.
The spool lives in a fresh temporary directory (``TMPDIR`` chooses the file system).

    .venv/bin/python bench/bench_relay.py     (MAMORU_BENCH_MESSAGES=2000, MAMORU_BENCH_CONNECTIONS=4,
                                               MAMORU_BENCH_SETUPS=threadx2,threadx4,processx2,processx4)
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aiosmtpd.controller import Controller

MESSAGES = int(os.environ.get("MAMORU_BENCH_MESSAGES", "2000"))
CONNECTIONS = int(os.environ.get("MAMORU_BENCH_CONNECTIONS", "4"))
# worker kind x number of workers
SETUPS = [(k.split("x")[0], int(k.split("x")[1])) for k in
          os.environ.get("MAMORU_BENCH_SETUPS", "threadx2,threadx4,processx2,processx4").split(",") if k]
DOMAIN = "city.example.lg.jp"
TARGET = 100.0
RELAY = [sys.executable, "-m", "mamoru.relay.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def messages(count: int) -> list[bytes]:
    """Small Japanese mails: plain UTF-8, ISO-2022-JP, and text + HTML alternatives."""
    out = []
    for n in range(count):
        msg = EmailMessage()
        msg["From"] = f"業者{n % 13} <vendor{n % 13}@example.com>"
        msg["To"] = f"職員{n % 7} <user{n % 7}@{DOMAIN}>"
        msg["Subject"] = f"【ご連絡】第{n}回 打合せ資料の送付について"
        msg["Message-ID"] = f"<bench-{n}@example.com>"
        body = (f"いつもお世話になっております。\n第{n}回の打合せ資料をお送りします。\n"
                "ご確認のほどよろしくお願いいたします。\n")
        if n % 3 == 1:
            msg.set_content(body, charset="iso-2022-jp")
        else:
            msg.set_content(body)
        if n % 3 == 2:
            msg.add_alternative(f"<html><body><p>{body}</p><a href='https://example.com/{n}'>資料</a></body></html>",
                                subtype="html")
        out.append(msg.as_bytes(policy=SMTP))
    return out


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 2.0.0 Ok"


def send_all(port: int, mails: list[bytes]) -> float:
    """Send every mail over CONNECTIONS connections; returns the time of the last 250."""
    chunks = [mails[i::CONNECTIONS] for i in range(CONNECTIONS)]

    def client(chunk: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test", timeout=60) as conn:
            for n, raw in enumerate(chunk):
                conn.sendmail("vendor@example.com", [f"user{n % 7}@{DOMAIN}"], raw)

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children (worker processes), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    total = 0.0
    for task in Path("/proc").iterdir():
        if task.name.isdigit():
            try:
                stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                total += cpu_seconds(int(task.name)) + children_cpu(int(task.name))
    return total


def run_relay(kind: str, workers: int, mails: list[bytes], folder: Path) -> tuple[float, float, float]:
    sink = Counter()
    sink_port, port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink_port, server_hostname="sink.test")
    controller.start()
    work = folder / f"{kind}-{workers}"
    work.mkdir()
    log_path = work / "relay.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [*RELAY, "serve", "--listen", f"127.0.0.1:{port}", "--deliver-to", f"127.0.0.1:{sink_port}",
         "--spool", str(work / "spool"), "--accept-domain", DOMAIN, "--workers", str(workers),
         "--worker-kind", kind, "--hostname", "relay.test"], stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test", timeout=2):
                    break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the relay did not start: {log_path.read_text(errors='replace')}") from exc
                time.sleep(0.05)
        cpu0 = cpu_seconds(proc.pid) + children_cpu(proc.pid)
        t0 = time.perf_counter()
        t_accepted = send_all(port, mails)
        while sink.count < len(mails):
            if proc.poll() is not None or time.perf_counter() - t0 > 600:
                why = log_path.read_text(errors="replace")[-2000:]
                raise SystemExit(f"the relay died or stalled ({sink.count} delivered): {why}")
            time.sleep(0.01)
        cpu = cpu_seconds(proc.pid) + children_cpu(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        controller.stop()
    return t_accepted - t0, sink.last - t0, cpu


def run_baseline(mails: list[bytes]) -> float:
    sink = Counter()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="sink.test")
    controller.start()
    try:
        t0 = time.perf_counter()
        send_all(port, mails)
        return sink.last - t0
    finally:
        controller.stop()


def main() -> None:
    mails = messages(MESSAGES)
    size = sum(map(len, mails)) / len(mails)
    print(f"{MESSAGES:,} Japanese messages (~{size:,.0f} bytes each), {CONNECTIONS} client connections, "
          f"{os.cpu_count()} CPUs")
    best = 0.0
    # One folder for every run, removed at the end: the runs do not pay for each other's deletions (on an ext4
    # without a journal, file creation skips inodes freed in the last minutes, and a removed spool frees thousands).
    with tempfile.TemporaryDirectory(prefix="mamoru-bench-relay-") as tmp:
        for kind, workers in SETUPS:
            t_accept, t_e2e, cpu = run_relay(kind, workers, mails, Path(tmp))
            rate = MESSAGES / t_e2e
            best = max(best, rate)
            print(f"relay --workers {workers} --worker-kind {kind}: accepted {MESSAGES / t_accept:,.0f} msg/s, "
                  f"delivered end to end {rate:,.0f} msg/s ({t_e2e:.2f} s), "
                  f"relay CPU {cpu / MESSAGES * 1000:.2f} ms/message")
    t_base = run_baseline(mails)
    base = MESSAGES / t_base
    print(f"baseline: the same clients straight to the sink {base:,.0f} msg/s ({t_base:.2f} s)")
    print(f"best relay end to end {best:,.0f} msg/s vs target {TARGET:.0f}: {'within' if best >= TARGET else 'UNDER'}; "
          f"relay / direct: {best / base:.2f}x")


if __name__ == "__main__":
    main()
