"""A throw-away Linux network lab that proves firewall verdicts against the real kernel.

The netcheck analyser predicts what an iptables/nftables ruleset does with a packet crossing a
firewall. These helpers build the firewall for real, out of network namespaces, load the ruleset
into it and send packets through it, so a test can compare the prediction with the kernel.

Topology (one lab; every name carries the pid and a per-process counter, so parallel pytest-xdist
workers and concurrent runs never collide)::

    mmrlab-<pid>-<n>-z0 ──uplink══eth0──┐
    mmrlab-<pid>-<n>-z1 ──uplink══eth1──┤ mmrlab-<pid>-<n>-fw  (ip_forward=1, IPv6 forwarding=1,
    mmrlab-<pid>-<n>-z2 ──uplink══eth2──┤                       rp_filter=0, the ruleset under test)
    mmrlab-<pid>-<n>-z3 ──uplink══eth3──┘

* One namespace per zone plus one firewall namespace. Each zone is joined to the firewall by a veth
  pair whose firewall end carries exactly the zone's interface name (``-i eth1`` rules match), and
  whose zone end is called ``uplink``. The pair is created *inside* the firewall namespace with its
  peer placed straight into the zone namespace, so nothing is ever created in the host namespace and
  interface names only need to be unique per namespace.
* Addressing. The firewall's address on a zone interface is the first usable address of the zone's
  first IPv4 subnet (``10.20.0.1/16`` for ``10.20.0.0/16``); the zone end gets the second one
  (``10.20.0.2``), the zone's default route points at the firewall. A zone whose first subnet has no
  sensible host addresses (``0.0.0.0/0`` for "the internet") uses a link-local transfer net
  ``169.254.<k>.1/.2`` instead. IPv6 (optional, per zone): the firewall gets the first address of the
  zone's first IPv6 subnet, and routing uses link-local gateways ``fe80::1`` (firewall) and
  ``fe80::2`` (zone). MAC addresses are fixed (``02:6d:72:00:<k>:01`` firewall side, ``…:02`` zone
  side) and both ends have permanent neighbour entries: no ARP/ND is ever needed, so no probe can be
  lost in an unresolved-neighbour queue.
* Routing in the firewall: every zone subnet is routed out of the zone's interface via the zone's
  gateway address (``10.20.0.0/16 via 10.20.0.2 dev eth1 onlink``); the kernel's longest-prefix
  match picks the zone, a ``0.0.0.0/0`` zone is the firewall's default route.

How a probe is sent and how arrival is detected (and why):

* Sending: the source zone's agent writes a complete Ethernet frame (IPv4/IPv6 + TCP SYN with an MSS
  option, or UDP) with correct checksums to an ``AF_PACKET`` socket on ``uplink``. The source
  address can therefore be *any* address -- one of the zone's, another zone's (spoofing), anything --
  without configuring it anywhere; the firewall (``rp_filter=0``) judges the packet purely by its
  ruleset. Each probe carries a 32-bit nonce: the TCP sequence number, or the UDP payload
  ``b"MMRU" + nonce``. Source ports default to a fresh port per probe, so earlier conntrack entries
  never influence a later probe.
* Arrival: every namespace runs one long-lived agent (``python kernel.py --agent``, started with
  ``ip netns exec`` and driven over a JSON-lines pipe) that sniffs all incoming frames on its
  interfaces with an ``AF_PACKET`` socket and records the nonces it sees. A probe got *through* when
  its nonce arrives (as a SYN, resp. our UDP payload) on a zone's ``uplink``, i.e. the firewall
  forwarded it. Nothing listens on any address, no handshake is needed: rulesets without an
  ESTABLISHED rule (which drop replies) are judged correctly, a destination address needs no
  configuration (the firewall forwards to the zone's gateway MAC, the zone stack then silently drops
  a packet for an address it does not own), and REJECT/DROP both simply mean "never arrived". The
  firewall's agent additionally records on which interface the probe *entered* the firewall
  (``ProbeResult.entered_firewall_on``), which proves a spoofed probe reached the firewall and was
  then judged.
* Speed: ``probe_many`` sends a whole batch, then waits once for the batch. A DROPped probe never
  produces a positive signal, so "blocked" needs a bound on how long a forwarded probe may take.
  The firewall's agent sees every probe *enter* (its packet tap runs in the same softirq pass that
  then runs netfilter and forwards the packet; forwarding over veth takes microseconds). So the wait
  ends when every probe arrived, or ``settle`` (default 0.25 s) after the firewall saw the last probe
  enter, and never lasts longer than ``timeout`` (default 1 s; also the fallback when the firewall
  did not see them all). Before answering, agents drain their socket, so a starved sniffing thread
  cannot lose an arrival. A batch with blocked probes costs ~0.25 s, an all-through batch a few ms.
  Not covered: rulesets that hand packets to userspace (NFQUEUE) and delay the verdict.

Usage::

    zones = {"lgwan": ZoneSpec("eth1", "10.20.0.0/16"), "internet": ZoneSpec("eth2", "10.30.0.0/16")}
    with KernelLab(zones) as lab:
        lab.load_iptables(
            "*filter\\n:FORWARD DROP [0:0]\\n-A FORWARD -i eth1 -o eth2 -p tcp --dport 443 -j ACCEPT\\nCOMMIT\\n"
        )
        assert lab.probe("lgwan", "10.20.1.5", "10.30.1.5", "tcp", 443)
        assert lab.probe_many([Probe("lgwan", "10.20.1.5", "10.30.1.5", "udp", 443)]) == [False]

Limits: a probe to one of the firewall's own addresses goes to INPUT, not FORWARD; sources the kernel
always treats as martian (0.0.0.0/8, 127/8, multicast, the firewall's own addresses) are dropped
before the ruleset sees them.

This file is also the agent: ``python -I kernel.py --agent IFNAME`` (standard library only at the
top level, so it runs without the project on ``sys.path``).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import ipaddress
import itertools
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

NS_PREFIX = "mmrlab"
ZONE_IFNAME = "uplink"
_STALE_RE = re.compile(rf"^{NS_PREFIX}-(\d+)-")
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
_TOOL_PACKAGES = {"ip": "iproute2", "iptables-restore": "iptables", "nft": "nftables"}

Proto = Literal["tcp", "udp"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class LabError(RuntimeError):
    """The lab could not be built, a command in it failed, or an agent misbehaved."""


# --------------------------------------------------------------------------------------------------
# Packets: built by the controller, parsed by the agents.

UDP_MAGIC = b"MMRU"
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SO_RCVBUFFORCE = 33
# How long after the firewall saw a probe enter we still wait for it to come out. Forwarding over veth takes
# microseconds; this only has to cover scheduling delays of a loaded CI machine.
DEFAULT_SETTLE = 0.25
MAX_ROUND = 1000  # probes sent per round (a larger batch is sent in several rounds)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def build_frame(
    *, src_mac: str, dst_mac: str, src: IPAddress, dst: IPAddress, proto: Proto, sport: int, dport: int, nonce: int
) -> bytes:
    """An Ethernet frame carrying a TCP SYN (sequence number = nonce) or a UDP datagram (payload MMRU+nonce)."""
    if src.version != dst.version:
        raise ValueError(f"address families differ: {src} -> {dst}")
    proto_num = 6 if proto == "tcp" else 17
    if proto == "tcp":
        # data offset 6 words (20 header + 4 option bytes), SYN, window 64240, MSS 1460 like a real SYN.
        l4 = struct.pack("!HHIIBBHHH", sport, dport, nonce, 0, 6 << 4, 0x02, 64240, 0, 0) + b"\x02\x04\x05\xb4"
        csum_offset = 16
    else:
        payload = UDP_MAGIC + struct.pack("!I", nonce)
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        csum_offset = 6
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, proto_num, len(l4))
    else:
        pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(l4), proto_num)
    csum = _checksum(pseudo + l4)
    if proto == "udp" and csum == 0:
        csum = 0xFFFF
    l4 = l4[:csum_offset] + struct.pack("!H", csum) + l4[csum_offset + 2 :]
    if src.version == 4:
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), nonce & 0xFFFF, 0x4000, 64, proto_num, 0, src.packed, dst.packed
        )
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        ethertype = ETH_P_IP
    else:
        header = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto_num, 64, src.packed, dst.packed)
        ethertype = ETH_P_IPV6
    return _mac_bytes(dst_mac) + _mac_bytes(src_mac) + struct.pack("!H", ethertype) + header + l4


def parse_frame(frame: bytes) -> tuple[int, dict[str, Any]] | None:
    """(nonce, header fields) for one of our probes (a TCP SYN or an MMRU UDP datagram), else None."""
    if len(frame) < 14:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    packet = frame[14:]
    if ethertype == ETH_P_IP:
        if len(packet) < 20 or packet[0] >> 4 != 4 or int.from_bytes(packet[6:8], "big") & 0x1FFF:
            return None
        ihl = (packet[0] & 0x0F) * 4
        proto, ttl = packet[9], packet[8]
        src, dst = socket.inet_ntop(socket.AF_INET, packet[12:16]), socket.inet_ntop(socket.AF_INET, packet[16:20])
        l4 = packet[ihl : int.from_bytes(packet[2:4], "big")]
    elif ethertype == ETH_P_IPV6:
        if len(packet) < 40 or packet[0] >> 4 != 6:
            return None
        proto, ttl = packet[6], packet[7]
        src, dst = socket.inet_ntop(socket.AF_INET6, packet[8:24]), socket.inet_ntop(socket.AF_INET6, packet[24:40])
        l4 = packet[40 : 40 + int.from_bytes(packet[4:6], "big")]
    else:
        return None
    if proto == 6 and len(l4) >= 20 and l4[13] & 0x02 and not l4[13] & 0x14:  # SYN without ACK/RST
        nonce, name = int.from_bytes(l4[4:8], "big"), "tcp"
    elif proto == 17 and len(l4) >= 16 and l4[8:12] == UDP_MAGIC:
        nonce, name = int.from_bytes(l4[12:16], "big"), "udp"
    else:
        return None
    sport, dport = int.from_bytes(l4[0:2], "big"), int.from_bytes(l4[2:4], "big")
    return nonce, {"proto": name, "src": src, "dst": dst, "sport": sport, "dport": dport, "ttl": ttl}


# --------------------------------------------------------------------------------------------------
# The agent: one per namespace, `ip netns exec NS python -I kernel.py --agent IFNAME|-`.


def _agent_main(send_ifname: str | None) -> None:
    """Sniff incoming frames on every interface of this namespace; send frames on ``send_ifname``.

    Requests and replies are JSON lines on stdin/stdout. End of stdin (the controller died) ends the agent.
    """
    seen: dict[int, dict[str, Any]] = {}
    cond = threading.Condition()
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    with contextlib.suppress(OSError):
        sniffer.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    sender: socket.socket | None = None
    if send_ifname is not None:
        sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        sender.bind((send_ifname, 0))

    def record(frame: bytes, address: tuple[Any, ...]) -> None:
        if address[2] == socket.PACKET_OUTGOING:
            return
        parsed = parse_frame(frame)
        if parsed is not None:
            nonce, fields = parsed
            fields["ifname"] = address[0]
            with cond:
                seen.setdefault(nonce, fields)
                cond.notify_all()

    def sniff() -> None:
        while True:
            record(*sniffer.recvfrom(65535))

    def drain() -> None:  # whatever the kernel already queued, even if the sniffing thread was not scheduled yet
        while True:
            try:
                record(*sniffer.recvfrom(65535, socket.MSG_DONTWAIT))
            except BlockingIOError:
                return

    threading.Thread(target=sniff, daemon=True).start()

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "ping":
            return {"ok": True}
        if op == "sysctl":
            for key, value in request["values"].items():
                Path("/proc/sys", key).write_text(f"{value}\n")
            return {"ok": True}
        if op == "send":
            if sender is None:
                raise LabError("this agent has no sending interface")
            for encoded in request["frames"]:
                frame = base64.b64decode(encoded)
                for attempt in range(50):
                    try:
                        sender.send(frame)
                        break
                    except BlockingIOError:  # pragma: no cover - ENOBUFS-like back-pressure
                        time.sleep(0.001 * (attempt + 1))
            return {"ok": True, "sent": len(request["frames"])}
        if op == "wait":  # until every nonce in `expect` was seen or the timeout passed; then report `watch`
            deadline = time.monotonic() + float(request["timeout"])
            expect = [int(n) for n in request["expect"]]
            with cond:
                while not all(n in seen for n in expect):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    cond.wait(remaining)
            drain()
            with cond:
                found = {str(n): seen.pop(int(n)) for n in request["watch"] if int(n) in seen}
            return {"ok": True, "seen": found}
        raise LabError(f"unknown op {op!r}")

    rcvbuf = sniffer.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    print(json.dumps({"ok": True, "ready": os.getpid(), "rcvbuf": rcvbuf}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line))
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


class _Agent:
    """Controller side of one agent process."""

    def __init__(self, ns: str, send_ifname: str | None) -> None:
        self.ns = ns
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the agent; close()
        self._buffer = b""
        self.rcvbuf = 0
        self.proc = subprocess.Popen(
            [_tool_or_fail("ip"), "netns", "exec", ns, sys.executable, "-I", str(Path(__file__).resolve()),
             "--agent", send_ifname or "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,  # a Ctrl-C to pytest must not kill agents before __exit__ cleans up
        )

    def stderr_text(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace").strip()
        return ""

    def send(self, request: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise LabError(f"agent in {self.ns} is gone: {self.stderr_text()}") from exc

    def receive(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LabError(f"agent in {self.ns} did not answer within {timeout:.1f}s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise LabError(
                        f"agent in {self.ns} exited (rc={self.proc.returncode}): {self.stderr_text() or 'no stderr'}"
                    )
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise LabError(f"agent in {self.ns}: {reply.get('error')}")
        return reply

    def request(self, request: Mapping[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        self.send(request)
        return self.receive(timeout)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()

    def close(self) -> None:
        self.close_stdin()
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        self._stderr.close()


# --------------------------------------------------------------------------------------------------
# Host tools.


def _tool(name: str) -> str | None:
    return shutil.which(name, path=_TOOL_PATH)


def tool_path(name: str) -> str:
    """Absolute path of a host tool (also looked up in the sbin directories); LabError naming the package if missing."""
    return _tool_or_fail(name)


def _tool_or_fail(name: str) -> str:
    path = _tool(name)
    if path is None:
        raise LabError(f"{name} not found (install the {_TOOL_PACKAGES.get(name, name)} package)")
    return path


def _run(argv: Sequence[str], *, stdin: str | None = None, what: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError(f"{what or ' '.join(argv)} failed (rc={proc.returncode}): {detail}")
    return proc


def _run_parallel(jobs: Sequence[tuple[Sequence[str], str | None, str]]) -> None:
    """Run (argv, stdin, description) jobs concurrently; raise on the first failure."""
    procs = []
    for argv, stdin, what in jobs:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append((proc, stdin, what))
    errors = []
    for proc, stdin, what in procs:
        out, err = proc.communicate(stdin, timeout=60)
        if proc.returncode != 0:
            errors.append(f"{what} failed (rc={proc.returncode}): {(err or out).strip()}")
    if errors:
        raise LabError("; ".join(errors))


@functools.cache
def iptables_backend() -> str | None:
    """'nf_tables' or 'legacy': what ``iptables-restore`` on this host drives; None when it is missing."""
    path = _tool("iptables-restore")
    if path is None:
        return None
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if "nf_tables" in text:
        return "nf_tables"
    return "legacy" if "legacy" in text else "unknown"


def ipv6_available() -> bool:
    return Path("/proc/sys/net/ipv6").is_dir()


def _list_namespaces() -> list[str]:
    proc = _run([_tool_or_fail("ip"), "netns", "list"])
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespaces(names: Iterable[str], *, kill_processes: bool) -> list[str]:
    """Delete namespaces (optionally SIGKILLing what still runs in them); return the errors."""
    ip = _tool_or_fail("ip")
    errors = []
    for name in names:
        if kill_processes:
            pids = subprocess.run([ip, "netns", "pids", name], capture_output=True, text=True, check=False)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
        proc = subprocess.run([ip, "netns", "delete", name], capture_output=True, text=True, check=False)
        if proc.returncode != 0 and name in _list_namespaces():
            errors.append(f"{name}: {proc.stderr.strip()}")
    return errors


def cleanup_stale_namespaces() -> list[str]:
    """Delete lab namespaces left behind by crashed runs (their pid is dead); return the deleted names."""
    stale = []
    for name in _list_namespaces():
        match = _STALE_RE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            stale.append(name)
    _delete_namespaces(stale, kill_processes=True)
    return stale


_stale_cleaned = False
_stale_lock = threading.Lock()


def _cleanup_stale_once() -> None:
    global _stale_cleaned
    with _stale_lock:
        if not _stale_cleaned:
            _stale_cleaned = True
            cleanup_stale_namespaces()


@functools.cache
def kernel_lab_unavailable() -> str | None:
    """Why a kernel lab cannot run here (naming exactly what is missing), or None when it can."""
    if sys.platform != "linux":
        return f"not Linux ({sys.platform}): network namespaces are a Linux feature"
    if os.geteuid() != 0:
        return f"not running as root (euid {os.geteuid()}): network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN"
    missing = [f"{name} (package {_TOOL_PACKAGES[name]})" for name in _TOOL_PACKAGES if _tool(name) is None]
    if missing:
        return "missing tools: " + ", ".join(missing)
    ip = _tool_or_fail("ip")
    name = f"{NS_PREFIX}-{os.getpid()}-check"
    checks: list[tuple[str, list[str], str | None]] = [
        ("cannot create a network namespace (no CAP_SYS_ADMIN, e.g. an unprivileged container?)",
         [ip, "netns", "add", name], None),
        ("cannot create a veth pair in a namespace (veth kernel module missing?)",
         [ip, "-n", name, "link", "add", "chk0", "type", "veth", "peer", "name", "chk1"], None),
        ("nft cannot talk to nf_tables in a namespace (nf_tables kernel module missing?)",
         [ip, "netns", "exec", name, _tool_or_fail("nft"), "list", "ruleset"], None),
        (f"iptables-restore ({iptables_backend()} backend) cannot load a ruleset in a namespace",
         [ip, "netns", "exec", name, _tool_or_fail("iptables-restore"), "-w", "10"],
         "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n"),
    ]
    try:
        with contextlib.suppress(LabError):
            _delete_namespaces([name], kill_processes=False)
        for reason, argv, stdin in checks:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, timeout=30)
            if proc.returncode != 0:
                return f"{reason}: {' '.join(argv)}: {proc.stderr.strip()}"
        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        except OSError as exc:
            return f"cannot open an AF_PACKET socket (CAP_NET_RAW missing?): {exc}"
    finally:
        subprocess.run([ip, "netns", "delete", name], capture_output=True, check=False)
    return None


def require_kernel_lab() -> None:
    """Skip the calling test (with the exact reason) when a kernel lab cannot run on this machine."""
    import pytest

    reason = kernel_lab_unavailable()
    if reason is not None:
        pytest.skip(f"kernel lab unavailable: {reason}")


# --------------------------------------------------------------------------------------------------
# The lab.


@dataclass(frozen=True, init=False)
class ZoneSpec:
    """A zone behind the firewall: the firewall's interface name and the zone's subnets (IPv4 and/or IPv6)."""

    interface: str
    subnets: tuple[IPNetwork, ...]

    def __init__(self, interface: str, *subnets: str | IPNetwork) -> None:
        if not _IFNAME_RE.match(interface) or interface in (".", "..", "lo", ZONE_IFNAME):
            raise ValueError(f"bad interface name {interface!r}: 1-15 characters of [A-Za-z0-9_.-], not lo/uplink")
        if not subnets:
            raise ValueError(f"zone on {interface} has no subnets")
        object.__setattr__(self, "interface", interface)
        object.__setattr__(self, "subnets", tuple(ipaddress.ip_network(s) for s in subnets))

    def networks(self, version: int) -> list[IPNetwork]:
        return [n for n in self.subnets if n.version == version]


@dataclass(frozen=True)
class Probe:
    """One packet to send: from namespace ``src_zone``, with source address ``src`` (any address at all)."""

    src_zone: str
    src: str
    dst: str
    proto: Proto
    dport: int
    sport: int | None = None


@dataclass(frozen=True)
class Observed:
    """A probe's headers as seen where it arrived (NAT would show here)."""

    src: str
    dst: str
    sport: int
    dport: int
    ttl: int


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    sport: int
    expected_zone: str
    arrived_zone: str | None
    entered_firewall_on: str | None
    observed: Observed | None

    @property
    def through(self) -> bool:
        """The firewall forwarded the probe (it arrived in a zone namespace)."""
        return self.arrived_zone is not None


@dataclass
class _Zone:
    name: str
    spec: ZoneSpec
    index: int
    ns: str
    fw_mac: str
    zone_mac: str
    fw4: ipaddress.IPv4Address
    gw4: ipaddress.IPv4Address
    prefix4: int
    fw6: ipaddress.IPv6Interface | None
    agent: _Agent | None = field(default=None, repr=False)


def _usable_pair4(net: IPNetwork | None, index: int) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int]:
    """(firewall address, zone gateway address, prefix length) for a zone's first IPv4 subnet."""
    if isinstance(net, ipaddress.IPv4Network) and 1 <= net.prefixlen <= 30:
        fw = net.network_address + 1
        if not (fw in ipaddress.IPv4Network("0.0.0.0/8") or fw.is_loopback or fw.is_multicast or fw.is_reserved):
            return fw, net.network_address + 2, net.prefixlen
    return ipaddress.IPv4Address(f"169.254.{index + 1}.1"), ipaddress.IPv4Address(f"169.254.{index + 1}.2"), 30


def _fw_address6(net: IPNetwork | None) -> ipaddress.IPv6Interface | None:
    if isinstance(net, ipaddress.IPv6Network) and 1 <= net.prefixlen <= 126:
        address = net.network_address + 1
        if not (address.is_multicast or address.is_loopback or address.is_link_local or address.is_unspecified):
            return ipaddress.IPv6Interface(f"{address}/{net.prefixlen}")
    return None


_lab_counter = itertools.count(1)
_live_labs: set[KernelLab] = set()


@atexit.register
def _close_live_labs() -> None:  # last resort, e.g. an interpreter exit without __exit__
    for lab in list(_live_labs):
        lab.close()


class KernelLab:
    """Namespaces forming a firewall between zones; see the module docstring. Use as a context manager."""

    def __init__(self, zones: Mapping[str, ZoneSpec]) -> None:
        if not zones:
            raise ValueError("a lab needs at least one zone")
        if len(zones) > 250:
            raise ValueError("at most 250 zones")
        seen_if: set[str] = set()
        seen_net: dict[IPNetwork, str] = {}
        for name, spec in zones.items():
            if spec.interface in seen_if:
                raise ValueError(f"interface {spec.interface} used by two zones")
            seen_if.add(spec.interface)
            for net in spec.subnets:
                if net in seen_net:
                    raise ValueError(f"subnet {net} in both {seen_net[net]} and {name}")
                seen_net[net] = name
        self.id = f"{NS_PREFIX}-{os.getpid()}-{next(_lab_counter)}"
        self.fw_ns = f"{self.id}-fw"
        self._zones: dict[str, _Zone] = {}
        for index, (name, spec) in enumerate(zones.items()):
            first4 = next(iter(spec.networks(4)), None)
            first6 = next(iter(spec.networks(6)), None)
            fw4, gw4, prefix4 = _usable_pair4(first4, index)
            self._zones[name] = _Zone(
                name=name, spec=spec, index=index, ns=f"{self.id}-z{index}",
                fw_mac=f"02:6d:72:00:{index:02x}:01", zone_mac=f"02:6d:72:00:{index:02x}:02",
                fw4=fw4, gw4=gw4, prefix4=prefix4, fw6=_fw_address6(first6),
            )
        self._ipv6 = any(spec.networks(6) for spec in zones.values())
        self._fw_agent: _Agent | None = None
        self._created: list[str] = []
        self._nonce = itertools.count(random.randrange(1, 1 << 30))
        self._sport = itertools.count(random.randrange(0, 40000))
        self._legacy_loaded = False
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> KernelLab:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        reason = kernel_lab_unavailable()
        if reason is not None:
            raise LabError(f"kernel lab unavailable: {reason}")
        if self._ipv6 and not ipv6_available():
            raise LabError("a zone has IPv6 subnets but this kernel has IPv6 disabled")
        _cleanup_stale_once()
        _live_labs.add(self)
        ip = _tool_or_fail("ip")
        zones = list(self._zones.values())
        for ns in [self.fw_ns, *(z.ns for z in zones)]:
            _run([ip, "netns", "add", ns])
            self._created.append(ns)
        links = "".join(
            f"link add {z.spec.interface} address {z.fw_mac} type veth peer name {ZONE_IFNAME} "
            f"address {z.zone_mac} netns {z.ns}\n"
            for z in zones
        )
        _run([ip, "-n", self.fw_ns, "-batch", "-"], stdin=links, what="creating the veth pairs")

        self._fw_agent = _Agent(self.fw_ns, None)
        for z in zones:
            z.agent = _Agent(z.ns, ZONE_IFNAME)
        for agent in self._agents():
            agent.rcvbuf = int(agent.receive(timeout=30)["rcvbuf"])  # "ready"

        v6 = ipv6_available()
        fw_sysctl = {"net/ipv4/ip_forward": 1, "net/ipv4/conf/all/rp_filter": 0, "net/ipv4/conf/default/rp_filter": 0,
                     "net/ipv4/conf/all/send_redirects": 0}
        if v6:
            fw_sysctl |= {"net/ipv6/conf/all/forwarding": 1, "net/ipv6/conf/default/forwarding": 1}
        for z in zones:
            fw_sysctl[f"net/ipv4/conf/{z.spec.interface}/rp_filter"] = 0
        requests: list[tuple[_Agent, dict[str, Any]]] = [(self._fw_agent, {"op": "sysctl", "values": fw_sysctl})]
        for z in zones:
            values = {"net/ipv4/conf/all/rp_filter": 0, "net/ipv4/conf/default/rp_filter": 0,
                      f"net/ipv4/conf/{ZONE_IFNAME}/rp_filter": 0}
            if v6:
                values |= {f"net/ipv6/conf/{ZONE_IFNAME}/accept_ra": 0,
                           f"net/ipv6/conf/{ZONE_IFNAME}/router_solicitations": 0}
            assert z.agent is not None
            requests.append((z.agent, {"op": "sysctl", "values": values}))
        self._fan_out(requests, timeout=15)

        fw_cmds = ["link set lo up"]
        jobs: list[tuple[Sequence[str], str | None, str]] = []
        for z in zones:
            ifname = z.spec.interface
            fw_cmds += [
                f"link set {ifname} up",
                f"addr add {z.fw4}/{z.prefix4} dev {ifname} noprefixroute",
                f"neigh replace {z.gw4} lladdr {z.zone_mac} dev {ifname} nud permanent",
                *(f"route add {net} via {z.gw4} dev {ifname} onlink" for net in z.spec.networks(4)),
            ]
            zone_cmds = [
                "link set lo up",
                f"link set {ZONE_IFNAME} up",
                f"addr add {z.gw4}/{z.prefix4} dev {ZONE_IFNAME}",
                f"neigh replace {z.fw4} lladdr {z.fw_mac} dev {ZONE_IFNAME} nud permanent",
                f"route replace default via {z.fw4} dev {ZONE_IFNAME} onlink",
            ]
            if v6:
                fw_cmds += [
                    f"addr add fe80::1/64 dev {ifname} nodad",
                    f"neigh replace fe80::2 lladdr {z.zone_mac} dev {ifname} nud permanent",
                    *(f"route add {net} via fe80::2 dev {ifname}" for net in z.spec.networks(6)),
                ]
                if z.fw6 is not None:
                    fw_cmds.append(f"addr add {z.fw6} dev {ifname} nodad noprefixroute")
                zone_cmds += [
                    f"addr add fe80::2/64 dev {ZONE_IFNAME} nodad",
                    f"neigh replace fe80::1 lladdr {z.fw_mac} dev {ZONE_IFNAME} nud permanent",
                    f"route replace ::/0 via fe80::1 dev {ZONE_IFNAME}",
                ]
            jobs.append(([ip, "-n", z.ns, "-batch", "-"], "\n".join(zone_cmds) + "\n", f"configuring zone {z.name}"))
        jobs.append(([ip, "-n", self.fw_ns, "-batch", "-"], "\n".join(fw_cmds) + "\n", "configuring the firewall"))
        _run_parallel(jobs)

    def close(self) -> None:
        """Stop the agents and delete every namespace of this lab. Idempotent; never raises for cleanup trouble."""
        if self._closed:
            return
        self._closed = True
        for agent in self._agents():  # end of input: every agent exits at once
            with contextlib.suppress(Exception):
                agent.close_stdin()
        for agent in self._agents():
            with contextlib.suppress(Exception):
                agent.close()
        errors = []
        with contextlib.suppress(Exception):
            errors = _delete_namespaces(reversed(self._created), kill_processes=True)
        _live_labs.discard(self)
        if errors:
            print(f"kernel lab {self.id}: could not delete namespaces: {errors}", file=sys.stderr)

    def _agents(self) -> Iterator[_Agent]:
        if self._fw_agent is not None:
            yield self._fw_agent
        for z in self._zones.values():
            if z.agent is not None:
                yield z.agent

    def _fan_out(self, requests: Sequence[tuple[_Agent, Mapping[str, Any]]], timeout: float) -> list[dict[str, Any]]:
        """Send every request first, then collect the replies: agents work concurrently."""
        for agent, request in requests:
            agent.send(request)
        return [agent.receive(timeout) for agent, _ in requests]

    # -- introspection --------------------------------------------------------------------------

    @property
    def zone_names(self) -> list[str]:
        return list(self._zones)

    @property
    def namespaces(self) -> list[str]:
        """Every namespace of this lab, firewall first."""
        return [self.fw_ns, *(z.ns for z in self._zones.values())]

    def zone_ns(self, zone: str) -> str:
        return self._zone(zone).ns

    def fw_address(self, zone: str, version: int = 4) -> str | None:
        """The firewall's address on the zone's interface (IPv6: the global one, None if the zone has none)."""
        z = self._zone(zone)
        if version == 4:
            return str(z.fw4)
        return str(z.fw6.ip) if z.fw6 is not None else None

    def zone_of(self, address: str) -> str:
        """The zone the firewall routes ``address`` to (longest prefix match over all zone subnets)."""
        addr = ipaddress.ip_address(address)
        best: tuple[int, str] | None = None
        for z in self._zones.values():
            for net in z.spec.subnets:
                if net.version == addr.version and addr in net and (best is None or net.prefixlen > best[0]):
                    best = (net.prefixlen, z.name)
        if best is None:
            raise ValueError(f"{address} is in no zone of this lab")
        return best[1]

    def _zone(self, zone: str) -> _Zone:
        try:
            return self._zones[zone]
        except KeyError:
            raise ValueError(f"unknown zone {zone!r} (zones: {', '.join(self._zones)})") from None

    # -- commands in the firewall ---------------------------------------------------------------

    def fw_exec(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the firewall namespace; raise LabError (with stderr) when it fails."""
        return self._ns_exec(self.fw_ns, argv, stdin)

    def zone_exec(self, zone: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside a zone's namespace; raise LabError (with stderr) when it fails."""
        return self._ns_exec(self._zone(zone).ns, argv, stdin)

    def _ns_exec(self, ns: str, argv: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        if not argv:
            raise ValueError("no command")
        command = [argv[0] if "/" in argv[0] else _tool_or_fail(argv[0]), *argv[1:]]
        return _run([_tool_or_fail("ip"), "netns", "exec", ns, *command], stdin=stdin, what=" ".join(argv))

    def reset(self) -> None:
        """Remove every rule: nftables (which includes iptables-nft's tables) and iptables-legacy tables we loaded."""
        self.fw_exec(_tool_or_fail("nft"), "flush", "ruleset")
        self._flush_legacy()

    def _flush_legacy(self) -> None:
        if not self._legacy_loaded:
            return
        for save, restore in (("iptables-save", "iptables-restore"), ("ip6tables-save", "ip6tables-restore")):
            save_path, restore_path = _tool(save), _tool(restore)
            if save_path is None or restore_path is None:
                continue
            dump = self.fw_exec(save_path).stdout
            empty = []
            for line in dump.splitlines():
                if line.startswith("*") or line == "COMMIT":
                    empty.append(line)
                elif line.startswith(":") and line.split()[1] != "-":
                    empty.append(f"{line.split()[0]} ACCEPT [0:0]")
            if empty:
                self.fw_exec(restore_path, "-w", "10", stdin="\n".join(empty) + "\n")
        self._legacy_loaded = False

    def load_iptables(self, text: str, *, flush: bool = True) -> None:
        """iptables-restore ``text`` in the firewall; ``flush`` first removes every other rule (nft included)."""
        self._load_xtables("iptables-restore", text, flush=flush)

    def load_ip6tables(self, text: str, *, flush: bool = True) -> None:
        """ip6tables-restore ``text`` in the firewall (use ``flush=False`` to add it to an IPv4 ruleset)."""
        self._load_xtables("ip6tables-restore", text, flush=flush)

    def _load_xtables(self, tool: str, text: str, *, flush: bool) -> None:
        if flush:
            self.reset()
        if not text.endswith("\n"):
            text += "\n"
        self.fw_exec(_tool_or_fail(tool), "-w", "10", stdin=text)
        if iptables_backend() != "nf_tables":
            self._legacy_loaded = True

    def load_nft(self, text: str) -> None:
        """Replace the firewall's ruleset with ``text`` (``nft -f``, ``flush ruleset`` in the same transaction)."""
        self._flush_legacy()
        self.fw_exec(_tool_or_fail("nft"), "-f", "-", stdin="flush ruleset\n" + text + "\n")

    def load_nft_json(self, text: str) -> None:
        """Replace the firewall's ruleset with the libnftables JSON ``text`` (``nft -j -f``)."""
        self._flush_legacy()
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("nftables"), list):
            items = document["nftables"]
            head = [item for item in items if isinstance(item, dict) and "metainfo" in item]
            rest = [item for item in items if not (isinstance(item, dict) and "metainfo" in item)]
            document = {"nftables": [*head, {"flush": {"ruleset": None}}, *rest]}
        else:
            self.fw_exec(_tool_or_fail("nft"), "flush", "ruleset")
        self.fw_exec(_tool_or_fail("nft"), "-j", "-f", "-", stdin=json.dumps(document))

    def ensure_address(self, zone: str, address: str) -> None:
        """Give the zone namespace ``address`` (as /32 or /128) so its own stack answers for it.

        Probes never need this (arrival is detected below the IP stack); it is for tests that want a
        real host there, e.g. to see a TCP handshake complete.
        """
        addr = ipaddress.ip_address(address)
        argv = [_tool_or_fail("ip"), "-n", self._zone(zone).ns, "addr", "replace", f"{addr}/{addr.max_prefixlen}",
                "dev", ZONE_IFNAME]
        _run(argv + (["nodad"] if addr.version == 6 else []))

    # -- probes ---------------------------------------------------------------------------------

    def probe(
        self, src_zone: str, src: str, dst: str, proto: Proto, dport: int, sport: int | None = None,
        timeout: float = 1.0, settle: float = DEFAULT_SETTLE,
    ) -> bool:
        """Send one packet from ``src_zone``'s namespace; True when the firewall forwarded it."""
        return self.probe_many([Probe(src_zone, src, dst, proto, dport, sport)], timeout=timeout, settle=settle)[0]

    def probe_many(
        self, probes: Iterable[Probe | tuple[Any, ...]], timeout: float = 1.0, settle: float = DEFAULT_SETTLE
    ) -> list[bool]:
        """Send all probes at once, wait once; one verdict per probe, in order.

        The wait ends when every probe arrived, or ``settle`` seconds after the firewall saw the last probe
        enter, and never lasts longer than ``timeout`` seconds.
        """
        return [result.through for result in self.probe_many_detailed(probes, timeout=timeout, settle=settle)]

    def probe_many_detailed(
        self, probes: Iterable[Probe | tuple[Any, ...]], timeout: float = 1.0, settle: float = DEFAULT_SETTLE
    ) -> list[ProbeResult]:
        """Like :meth:`probe_many`, with where each probe entered the firewall and where (and how) it arrived."""
        if self._closed or self._fw_agent is None:
            raise LabError("the lab is not running (use it inside `with KernelLab(...) as lab:`)")
        batch = [p if isinstance(p, Probe) else Probe(*p) for p in probes]
        # Every sniffing socket must hold a whole round (a small frame costs ~1-2 KiB of receive buffer).
        chunk = max(16, min(MAX_ROUND, min(agent.rcvbuf for agent in self._agents()) // 4096))
        results: list[ProbeResult] = []
        for start in range(0, len(batch), chunk):
            results += self._probe_round(batch[start : start + chunk], timeout=timeout, settle=settle)
        return results

    def _probe_round(self, batch: Sequence[Probe], *, timeout: float, settle: float) -> list[ProbeResult]:
        assert self._fw_agent is not None
        planned: list[tuple[Probe, int, int, str]] = []  # probe, nonce, sport, expected zone
        frames: dict[str, list[str]] = {}
        for p in batch:
            z = self._zone(p.src_zone)
            if p.proto not in ("tcp", "udp"):
                raise ValueError(f"proto must be 'tcp' or 'udp', not {p.proto!r}")
            src, dst = ipaddress.ip_address(p.src), ipaddress.ip_address(p.dst)
            if src.version != dst.version:
                raise ValueError(f"address families differ: {p.src} -> {p.dst}")
            if dst.version == 6 and not ipv6_available():
                raise LabError("IPv6 is disabled in this kernel")
            if not 1 <= p.dport <= 65535 or (p.sport is not None and not 1 <= p.sport <= 65535):
                raise ValueError(f"ports must be 1..65535: {p}")
            sport = p.sport if p.sport is not None else 20000 + next(self._sport) % 40000
            nonce = next(self._nonce) % (1 << 32)
            frame = build_frame(
                src_mac=z.zone_mac, dst_mac=z.fw_mac, src=src, dst=dst, proto=p.proto, sport=sport, dport=p.dport,
                nonce=nonce,
            )
            frames.setdefault(p.src_zone, []).append(base64.b64encode(frame).decode())
            planned.append((p, nonce, sport, self.zone_of(p.dst)))
        if not planned:
            return []

        self._fan_out(
            [(self._agent_of(zone), {"op": "send", "frames": f}) for zone, f in frames.items()], timeout=30
        )
        deadline = time.monotonic() + timeout
        all_nonces = [nonce for _, nonce, _, _ in planned]
        # 1. The firewall's agent sees each probe enter (its tap runs before netfilter, in the same softirq pass
        #    that then judges and forwards the packet).
        reply = self._fw_agent.request(
            {"op": "wait", "expect": all_nonces, "watch": all_nonces, "timeout": timeout}, timeout=timeout + 30
        )
        entered = {int(n): fields["ifname"] for n, fields in reply["seen"].items()}
        # 2. Once all entered, whatever the firewall forwards is delivered within microseconds: wait at most
        #    `settle` more for the stragglers (the rest of `timeout` if the firewall did not see them all).
        remaining = max(0.0, deadline - time.monotonic())
        wait_for = min(settle, remaining) if len(entered) == len(all_nonces) else remaining
        expected: dict[str, list[int]] = {}
        for _, nonce, _, zone in planned:
            expected.setdefault(zone, []).append(nonce)
        arrived: dict[int, tuple[str, dict[str, Any]]] = {}
        waits = [(self._agent_of(zone), {"op": "wait", "expect": nonces, "watch": nonces, "timeout": wait_for})
                 for zone, nonces in expected.items()]
        for zone, reply in zip(expected, self._fan_out(waits, timeout=wait_for + 30), strict=True):
            arrived |= {int(n): (zone, fields) for n, fields in reply["seen"].items()}
        # 3. Probes that did not arrive where routing says (NAT may have sent them elsewhere): ask every zone.
        missing = [n for n in all_nonces if n not in arrived]
        if missing:
            zones = list(self._zones)
            collect = [(self._agent_of(z), {"op": "wait", "expect": [], "watch": missing, "timeout": 0}) for z in zones]
            for zone, reply in zip(zones, self._fan_out(collect, timeout=30), strict=True):
                for n, fields in reply["seen"].items():
                    arrived.setdefault(int(n), (zone, fields))

        results = []
        for p, nonce, sport, zone in planned:
            hit = arrived.get(nonce)
            observed = None
            if hit is not None:
                f = hit[1]
                observed = Observed(src=f["src"], dst=f["dst"], sport=f["sport"], dport=f["dport"], ttl=f["ttl"])
            results.append(ProbeResult(
                probe=p, sport=sport, expected_zone=zone, arrived_zone=hit[0] if hit else None,
                entered_firewall_on=entered.get(nonce), observed=observed,
            ))
        return results

    def _agent_of(self, zone: str) -> _Agent:
        agent = self._zone(zone).agent
        if agent is None:
            raise LabError("the lab is not running")
        return agent


if __name__ == "__main__" and sys.argv[1:2] == ["--agent"]:
    _agent_main(None if sys.argv[2] == "-" else sys.argv[2])
