"""``mamoru createadmin``: a superuser (who must enrol MFA at first sign-in)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mamoru.core.context import acting_as


class Command(BaseCommand):
    help = "Create a superuser. The password is read from MAMORU_ADMIN_PASSWORD or asked for."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        import os

        user_model = get_user_model()
        username = options["username"]
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        password = os.environ.get("MAMORU_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        try:
            validate_password(password, user_model(username=username))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        with acting_as(label="mamoru createadmin"):
            user_model.objects.create_superuser(username=username, email=options["email"], password=password)
        self.stdout.write(self.style.SUCCESS(f"superuser {username} created; MFA enrolment is required at sign-in"))
