"""``mamoru init [--demo]``: migrate, load the roles (and the demo city). Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from mamoru.core.content import load_default_content
from mamoru.core.context import acting_as


class Command(BaseCommand):
    help = "Create or upgrade the database and load the default content (and, with --demo, a demo city)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--demo", action="store_true", help="also load the demo city and its people")
        parser.add_argument("--no-migrate", action="store_true", help="skip migrations")

    def handle(self, *args: Any, **options: Any) -> None:
        from mamoru.core import demo, services

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("database migrated")
        with acting_as(label="mamoru init"):
            created = services.roles_sync()
            self.stdout.write(f"roles: {created} created")
            logins = demo.load_demo() if options["demo"] else []
            for line in load_default_content():
                self.stdout.write(line)
            if options["demo"]:
                if not logins:
                    self.stdout.write("demo city already present: nothing added")
                    return
                demo.load_demo_content()
                self.stdout.write(self.style.SUCCESS("demo city loaded. Demo logins (password for all: "
                                                     f"{demo.DEMO_PASSWORD}):"))
                for login in logins:
                    self.stdout.write(f"  {login.username:<22} {login.role:<16} {login.unit}")
                self.stdout.write("CISO, 統括, system administrators and auditors enrol TOTP MFA at first sign-in.")
                from mamoru.compliance.services import checks_run

                result = checks_run()
                self.stdout.write(f"policy checks run on the demo city: {result.created} findings")
