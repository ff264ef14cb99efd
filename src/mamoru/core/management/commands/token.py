"""``mamoru token create|revoke|list``: personal API tokens from the command line.

``create`` prints the token in clear text on the last line of stdout (and nowhere else), so scripts can
take it with ``tail -n 1``. Every action is recorded in the audit trail as "mamoru token".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mamoru.core.context import acting_as
from mamoru.core.models import ApiToken
from mamoru.core.services_tokens import MAX_LIFETIME_DAYS, token_create, token_revoke, token_status

ACTOR_LABEL = "mamoru token"


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Create, revoke and list personal API tokens."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="sub", required=True, metavar="{create,revoke,list}")
        create = sub.add_parser("create", help="create a token and print it (shown once)")
        create.add_argument("--user", required=True, help="username of the token's owner")
        create.add_argument("--name", default="CLI token", help="what the token is for")
        create.add_argument("--expires-days", type=int, default=None,
                            help=f"days until it expires (1–{MAX_LIFETIME_DAYS}; default: never)")
        revoke = sub.add_parser("revoke", help="revoke a token")
        revoke.add_argument("--user", required=True, help="username of the token's owner")
        revoke.add_argument("--prefix", required=True, help="the token's prefix as 'token list' shows it")
        listing = sub.add_parser("list", help="list a user's tokens (never their clear text)")
        listing.add_argument("--user", required=True, help="username of the tokens' owner")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        with acting_as(label=ACTOR_LABEL):
            getattr(self, f"_{options['sub']}")(user, options)

    @staticmethod
    def _user(username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}; check the spelling (usernames are case-sensitive)")
        return user

    def _create(self, user: Any, options: dict[str, Any]) -> None:
        days = options["expires_days"]
        if days is not None and not 1 <= days <= MAX_LIFETIME_DAYS:
            raise CommandError(f"--expires-days must be between 1 and {MAX_LIFETIME_DAYS}")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            token, raw = token_create(user=user, name=options["name"], expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"created token {token.key_prefix}… ({token.name!r}) for {user.get_username()}, "
                          f"expires: {_when(expires_at) if expires_at else 'never'}. "
                          "It is shown only once, below; store it now.")
        self.stdout.write(raw)

    def _revoke(self, user: Any, options: dict[str, Any]) -> None:
        prefix = options["prefix"].strip().rstrip("…").rstrip(".")
        if not prefix:
            raise CommandError("--prefix is empty; use the prefix that 'mamoru token list' shows")
        matches = list(ApiToken.objects.filter(user=user, key_prefix=prefix))
        if not matches:
            raise CommandError(f"{user.get_username()} has no token with prefix {prefix!r}; "
                               f"see 'mamoru token list --user {user.get_username()}'")
        if len(matches) > 1:  # practically impossible (6 random characters), but never revoke the wrong one
            raise CommandError(f"{len(matches)} tokens of {user.get_username()} share the prefix {prefix!r}; "
                               "revoke them on the API tokens page instead")
        token = matches[0]
        if token_revoke(token=token, actor=None):
            self.stdout.write(f"revoked token {token.key_prefix}… ({token.name!r}) of {user.get_username()}")
        else:
            self.stdout.write(f"token {token.key_prefix}… ({token.name!r}) was already revoked")

    def _list(self, user: Any, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.filter(user=user).order_by("-created_at")
        if not tokens:
            self.stdout.write(f"{user.get_username()} has no API tokens")
            return
        self.stdout.write(f"{'PREFIX':<12} {'STATUS':<8} {'CREATED':<16} {'LAST USED':<16} {'EXPIRES':<16} NAME")
        for t in tokens:
            self.stdout.write(f"{t.key_prefix:<12} {token_status(t).value:<8} {_when(t.created_at):<16} "
                              f"{_when(t.last_used_at):<16} {_when(t.expires_at):<16} {t.name}")
