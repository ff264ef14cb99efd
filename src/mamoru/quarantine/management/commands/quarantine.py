"""``mamoru quarantine ingest|expire``: record the relay's events; delete originals past their retention.

Both are safe to run from cron or a systemd timer, also on several hosts at once (see services).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mamoru.core.context import acting_as
from mamoru.quarantine import services


class Command(BaseCommand):
    help = "Mail quarantine: ingest the relay's events (ingest) or delete expired originals (expire)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        ingest = sub.add_parser("ingest", help="record the relay's events into the quarantine")
        ingest.add_argument("--spool", help="the relay's spool directory (default: MAMORU_RELAY_SPOOL)")
        ingest.add_argument("--limit", type=int, help="at most this many events")
        sub.add_parser("expire", help="delete originals whose retention has ended")

    def handle(self, *args: Any, verb: str, **opts: Any) -> None:
        with acting_as(label=f"mamoru quarantine {verb}"):
            if verb == "ingest":
                result = services.events_ingest(spool=opts.get("spool"), limit=opts.get("limit"))
                self.stdout.write(f"events recorded: {result.events}, mail items: {result.items}, "
                                  f"already recorded: {result.duplicates}")
                for problem in result.unknown:
                    self.stderr.write(f"not understood (kept in the spool): {problem}")
                if result.unknown:
                    raise SystemExit(1)
            else:
                n = services.items_expire()
                self.stdout.write(f"originals past retention: {n} mail items")
