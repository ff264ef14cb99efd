"""Request context for the audit trail, and the MFA gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from mamoru.core.context import Actor, current_actor


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set MAMORU_TRUSTED_PROXY so X-Forwarded-For is honoured; never otherwise.
    if getattr(settings, "TRUSTED_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


SESSION_REFRESH_SECONDS = 60


class IdleSessionMiddleware:
    """Idle expiry without a database write (and, on PostgreSQL, a commit flushed to disk) on every page.

    The session's age counts from the last request, to within a minute: a session last saved more than
    SESSION_REFRESH_SECONDS ago is marked modified, so SessionMiddleware saves it with a new expiry and
    sends the cookie again. Sits right after SessionMiddleware, whose response step then runs after this one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - int(session.get("_mamoru_refreshed", 0)) >= SESSION_REFRESH_SECONDS:
                session["_mamoru_refreshed"] = now
        return response


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        token = current_actor.set(Actor(user=user, source_ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            current_actor.reset(token)


# Paths a signed-in but not yet MFA-verified user may reach.
MFA_EXEMPT_NAMES = ("core:login", "core:logout", "core:mfa_verify", "core:mfa_enrol", "core:mfa_qr",
                    "core:mfa_recovery", "javascript-catalog")


def mfa_required(user: Any) -> bool:
    from mamoru.core.access import user_roles

    if settings.MFA_REQUIRED_FOR_ALL or user.is_superuser:
        return True
    return bool(user_roles(user) & set(settings.MFA_REQUIRED_ROLES))


def has_mfa_device(user: Any) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))


def session_mfa_satisfied(user: Any) -> bool:
    """Whether a session-authenticated ``user`` may act: MFA passed, or neither enrolled nor required.

    For callers outside the page middleware (e.g. the API's session authentication).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return True
    return not has_mfa_device(user) and not mfa_required(user)


def safe_next(request: HttpRequest, url: str | None) -> str | None:
    """``url`` if it is a local address on this site, else None (no open redirects)."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return None


def with_next(view_name: str, next_url: str | None) -> str:
    """URL of ``view_name`` carrying ``next`` URL-encoded in the query string."""
    url = reverse(view_name)
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}" if next_url else url


class MFARequiredMiddleware:
    """A signed-in user who has MFA must pass it; one who needs MFA and has none must enrol first.

    API requests are left to the API's authentication (see :func:`session_mfa_satisfied`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt: set[str] | None = None

    def exempt_paths(self) -> set[str]:
        if self._exempt is None:
            self._exempt = {reverse(n) for n in MFA_EXEMPT_NAMES if _reversible(n)}
        return self._exempt

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (user.is_authenticated and not user.is_verified()  # type: ignore[union-attr,attr-defined]
                and not request.path.startswith(settings.STATIC_URL)
                and not request.path.startswith("/api/")
                and request.path not in self.exempt_paths()):
            next_url = safe_next(request, request.get_full_path()) if request.method == "GET" else None
            if has_mfa_device(user):
                return redirect(with_next("core:mfa_verify", next_url))
            if mfa_required(user):
                return redirect(with_next("core:mfa_enrol", next_url))
        return self.get_response(request)


def _reversible(name: str) -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True
