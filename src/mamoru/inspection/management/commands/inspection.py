"""``mamoru inspection remind``: e-mail everyone whose self-inspection checklist is not submitted.

Safe to run from cron or a systemd timer, also on several hosts at once: each reminder is claimed with a
conditional UPDATE (services.reminders_send). Mail goes through Django's mail backend (MAMORU_EMAIL_BACKEND;
the console backend in development).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mamoru.core.context import acting_as
from mamoru.inspection import services


class Command(BaseCommand):
    help = "Self-inspection: send reminders for checklists not yet submitted (remind)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("remind", help="e-mail people whose checklist of an open campaign is not submitted")

    def handle(self, *args: Any, verb: str, **opts: Any) -> None:
        with acting_as(label=f"mamoru inspection {verb}"):
            sent = services.reminders_send()
        self.stdout.write(f"reminders sent: {sent}")
