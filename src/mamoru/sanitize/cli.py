"""``mamoru sanitize``: sanitize one message from standard input to standard output (no Django import)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from mamoru.sanitize.pipeline import sanitize_message
from mamoru.sanitize.policy import Policy, PolicyError, load_policy

EXIT_SANITIZED, EXIT_UNREADABLE, EXIT_HELD = 0, 2, 3

DESCRIPTION = """\
Sanitize (無害化) one e-mail: read the raw message (RFC 822 bytes) from standard input and write the sanitized
message to standard output: text/plain only, HTML turned into text, attachments removed, disarmed or held as the
policy says, and a Japanese footer listing what was taken out.

exit status:
  0  sanitized (the sanitized message is on stdout)
  3  held: the message stays in quarantine; the short notice for the recipient is on stdout
  2  nothing could be done: empty input, or the policy file cannot be read (the reason is on stderr)

report:
  --report json writes the report (status, parts with their SHA-256 and action, defects) as JSON to stderr,
  or to the file given by --report-file. Without --report, nothing is written to stderr on success."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mamoru sanitize", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="mamoru sanitize [--policy FILE] [--report json] [--report-file PATH] "
                                           "< in.eml > out.eml")
    parser.add_argument("--policy", metavar="FILE", help="policy file, YAML or JSON (default: remove every "
                        "attachment and list it)")
    parser.add_argument("--report", choices=("json",), help="write the report as JSON (to stderr unless "
                        "--report-file is given)")
    parser.add_argument("--report-file", metavar="PATH", help="write the JSON report to this file (implies "
                        "--report json)")
    parser.add_argument("--quarantine-id", metavar="ID", help="quarantine id to print in the footer (default: "
                        "Q + the first 20 hex digits of the message's SHA-256)")
    return parser


def main(argv: Sequence[str] | None = None, *, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    err = stderr or sys.stderr
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    policy = Policy()
    if args.policy:
        try:
            policy = load_policy(args.policy)
        except PolicyError as exc:
            print(f"mamoru sanitize: {exc}", file=err)
            return EXIT_UNREADABLE
    try:
        raw = stdin.read()
    except OSError as exc:
        print(f"mamoru sanitize: cannot read standard input: {exc.strerror or exc}", file=err)
        return EXIT_UNREADABLE
    if not raw.strip():
        print("mamoru sanitize: standard input is empty: give the message on stdin (mamoru sanitize < in.eml)",
              file=err)
        return EXIT_UNREADABLE
    result = sanitize_message(raw, policy, quarantine_id=args.quarantine_id)
    if args.report or args.report_file:
        text = json.dumps(result.report.to_json(), ensure_ascii=False, indent=2)
        if args.report_file:
            try:
                Path(args.report_file).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                print(f"mamoru sanitize: cannot write the report to {args.report_file}: {exc.strerror or exc}",
                      file=err)
                stdout.write(result.message)
                stdout.flush()
                return EXIT_UNREADABLE
        else:
            print(text, file=err)
    stdout.write(result.message)
    stdout.flush()
    return EXIT_HELD if result.report.status == "held" else EXIT_SANITIZED
