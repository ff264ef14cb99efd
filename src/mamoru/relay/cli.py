"""``mamoru relay serve|status|retry``: the sanitizing SMTP relay (no Django import).

serve --listen HOST:PORT --deliver-to HOST:PORT --spool DIR --accept-domain DOMAIN [--accept-domain …]
      [--policy FILE] [--max-size BYTES] [--workers N] [--worker-kind thread|process] [--retention-days 90]
      [--retry-base SECONDS] [--retry-cap SECONDS] [--retry-max-age SECONDS] [--hostname NAME]
    runs until SIGTERM / SIGINT; exit 0 after a clean stop, 2 when it cannot start (the reason is printed)
status --spool DIR [--format text|json]
    messages per state (queue, deferred, sent, failed, released) and events waiting; the failed ones with their reason
retry --spool DIR SPOOL_ID
    re-queue a failed message (its failed recipients are tried again); exit 2 when it is not a failed message
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from mamoru.relay.spool import Spool, SpoolError

EXIT_OK, EXIT_ERROR = 0, 2


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mamoru relay", description="The sanitizing (無害化) SMTP relay.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="accept mail, sanitize it, deliver it to the LGWAN mail server")
    s.add_argument("--listen", type=_address, default=("127.0.0.1", 10025), help="HOST:PORT (default 127.0.0.1:10025)")
    s.add_argument("--deliver-to", type=_address, required=True, help="the LGWAN-side mail server, HOST:PORT")
    s.add_argument("--spool", type=Path, required=True)
    s.add_argument("--accept-domain", action="append", required=True, help="a recipient domain (repeatable)")
    s.add_argument("--policy", type=Path, help="sanitizing policy, YAML or JSON (default: remove every attachment)")
    s.add_argument("--max-size", type=_positive, help="bytes (default: the policy's max_message_bytes)")
    s.add_argument("--workers", type=_positive, default=2)
    s.add_argument("--worker-kind", choices=("thread", "process"), default="thread")
    s.add_argument("--retention-days", type=int, default=90, help="keep originals this long (0: forever)")
    s.add_argument("--retry-base", type=_seconds, default=60.0, help="first retry delay in seconds (default 60)")
    s.add_argument("--retry-cap", type=_seconds, default=3600.0, help="longest retry delay (default 3600)")
    s.add_argument("--retry-max-age", type=_seconds, default=5 * 86400.0,
                   help="hold a message for an operator after this many seconds of failures (default 5 days)")
    s.add_argument("--hostname", help="name in the greeting and trace headers (default: this host's name)")
    s.add_argument("-v", "--verbose", action="store_true")
    st = sub.add_parser("status", help="messages per state")
    st.add_argument("--spool", type=Path, required=True)
    st.add_argument("--format", choices=("text", "json"), default="text")
    r = sub.add_parser("retry", help="re-queue a failed message")
    r.add_argument("--spool", type=Path, required=True)
    r.add_argument("spool_id")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args, out, err)
    spool = Spool(args.spool)
    if not spool.root.is_dir():
        print(f"mamoru relay: no spool at {spool.root}", file=err)
        return EXIT_ERROR
    if args.command == "status":
        return _status(spool, args.format, out)
    try:
        entry = spool.retry(args.spool_id)
    except SpoolError as exc:
        print(f"mamoru relay: {exc}", file=err)
        return EXIT_ERROR
    print(f"{entry.spool_id}: re-queued", file=out)
    return EXIT_OK


def _status(spool: Spool, fmt: str, out: TextIO) -> int:
    counts = spool.counts()
    failed: list[dict[str, Any]] = []
    for entry in spool.entries("failed"):
        try:
            envelope = spool.read_envelope(entry)
            state = spool.read_state(envelope)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failed.append({"spool_id": entry.spool_id, "reason": f"unreadable: {exc}"})
            continue
        failed.append({"spool_id": entry.spool_id, "received_at": envelope.received_at,
                       "mail_from": envelope.mail_from, "reason": state.failure or state.last_reply})
    if fmt == "json":
        print(json.dumps({"counts": counts, "failed": failed}, ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    for name in ("queue", "deferred", "sent", "failed", "released", "events"):
        print(f"{name:9} {counts[name]}", file=out)
    for item in failed:
        print(f"failed {item['spool_id']} {item.get('received_at', '')} from <{item.get('mail_from', '')}>: "
              f"{item['reason']}", file=out)
    return EXIT_OK


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=err)
    logging.getLogger("mail.log").setLevel(logging.INFO if args.verbose else logging.WARNING)
    from mamoru.relay.server import Relay, RelayConfig, RelayError
    from mamoru.relay.worker import RetryPolicy, default_hostname

    policy: Any = None
    max_size = args.max_size
    try:
        from mamoru.sanitize.policy import PolicyError, load_policy
    except ImportError as exc:
        print(f"mamoru relay: the sanitizing engine is not available ({exc})", file=err)
        return EXIT_ERROR
    if args.policy is not None:
        try:
            policy = load_policy(args.policy)
        except (PolicyError, OSError) as exc:
            print(f"mamoru relay: policy {args.policy}: {exc}", file=err)
            return EXIT_ERROR
    if max_size is None:
        max_size = int(getattr(getattr(policy, "limits", None), "max_message_bytes", 25 * 1024 * 1024))
    config = RelayConfig(
        spool_dir=args.spool, deliver_to=args.deliver_to, accept_domains=tuple(args.accept_domain),
        listen=args.listen, max_size=max_size, workers=args.workers, worker_kind=args.worker_kind,
        retention_days=args.retention_days or None,
        retry=RetryPolicy(base=args.retry_base, cap=args.retry_cap, max_age=args.retry_max_age),
        policy=policy, policy_path=str(args.policy) if args.policy else None,
        hostname=args.hostname or default_hostname())
    relay = Relay(config)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        host, port = relay.start()
    except RelayError as exc:
        print(f"mamoru relay: {exc}", file=err)
        return EXIT_ERROR
    print(f"mamoru relay: listening on {host}:{port}, delivering to {args.deliver_to[0]}:{args.deliver_to[1]}, "
          f"spool {args.spool}", file=err, flush=True)
    while not stop.wait(3600):
        pass
    relay.stop()
    print("mamoru relay: stopped", file=err, flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
