"""``mamoru audit verify``: check the audit trail's hash chain. Exit 0 intact, 1 tampered."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="verify the hash chain")

    def handle(self, *args: Any, **options: Any) -> None:
        from mamoru.core.audit import verify

        result = verify()
        if result.ok:
            self.stdout.write(f"audit trail intact: {result.checked} entries verified")
            return
        self.stderr.write(f"audit trail BROKEN: {result.problem} ({result.checked} entries verified before it)")
        sys.exit(1)
