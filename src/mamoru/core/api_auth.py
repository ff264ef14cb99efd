"""Authentication for the REST API: personal bearer tokens, and sessions that have passed MFA.

``Authorization: Bearer mmr_…`` (or ``Token mmr_…``) authenticates as the token's owner. A token that is
unknown, revoked or expired, or whose owner is inactive, is refused with 401 and an audit entry that
names only the token's prefix — never the token.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

KEYWORDS = frozenset({"bearer", "token"})
PREFIX_LENGTH = 10  # as ApiToken.generate() stores it
# last_used_at is refreshed at most this often (one UPDATE per token per minute, no audit entry).
TOUCH_INTERVAL = timedelta(minutes=1)

REASONS = {
    "malformed": _("Invalid Authorization header: expected 'Bearer <token>' with a single token."),
    "unknown": _("Invalid API token."),
    "revoked": _("This API token has been revoked. Create a new one on the API tokens page."),
    "expired": _("This API token has expired. Create a new one on the API tokens page."),
    "inactive": _("The account that owns this API token is inactive."),
}


def _reject(reason: str, *, raw: str = "", token: Any = None) -> AuthenticationFailed:
    """Record a TOKEN_REJECTED event (prefix only) and build the 401 to raise."""
    from mamoru.core import audit
    from mamoru.core.choices import AuditEvent
    from mamoru.core.models import ApiToken
    from mamoru.core.services_tokens import owner_unit

    if token is not None:
        prefix = token.key_prefix
    elif raw.startswith(ApiToken.PREFIX):
        prefix = raw[:PREFIX_LENGTH]
    else:
        prefix = ""  # not one of ours: record nothing of it, it may be some other secret
    label = f"(token {prefix}…)" if prefix else "(token)"
    audit.event(AuditEvent.TOKEN_REJECTED, obj=token, actor=label, object_repr=label,
                org_unit=owner_unit(token.user) if token is not None else None,
                details={"key_prefix": prefix, "reason": reason})
    return AuthenticationFailed(REASONS[reason])


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` (or ``Token <token>``) with a personal API token."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower().decode("latin-1") not in KEYWORDS:
            return None  # not for us: let the session class try
        if len(parts) != 2:
            raise _reject("malformed")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise _reject("malformed") from None
        return self.authenticate_credentials(raw)

    def authenticate_credentials(self, raw: str) -> tuple[Any, Any]:
        from mamoru.core.models import ApiToken

        token = ApiToken.lookup(raw)
        if token is None:
            raise _reject("unknown", raw=raw)
        now = timezone.now()
        if token.revoked_at is not None:
            raise _reject("revoked", token=token)
        if token.expires_at is not None and token.expires_at <= now:
            raise _reject("expired", token=token)
        if not token.user.is_active:
            raise _reject("inactive", token=token)
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
            # A queryset update fires no signals: no audit entry for every API call.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests.
        return f'Bearer realm="{self.www_authenticate_realm}"'


class VerifiedSessionAuthentication(SessionAuthentication):
    """A browser session, but only once its user has satisfied MFA (as the HTML pages demand)."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        from mamoru.core.middleware import session_mfa_satisfied

        if not session_mfa_satisfied(result[0]):
            return None
        return result
