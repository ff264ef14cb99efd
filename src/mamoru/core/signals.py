"""Explicit audit events for sign-in, sign-out and failed sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.middleware import client_ip


@receiver(user_logged_in, dispatch_uid="mamoru_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.event(AuditEvent.LOGIN, obj=user, actor=user, source_ip=client_ip(request) if request else None)


@receiver(user_logged_out, dispatch_uid="mamoru_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.event(AuditEvent.LOGOUT, obj=user, actor=user, source_ip=client_ip(request) if request else None)


@receiver(user_login_failed, dispatch_uid="mamoru_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    audit.event(AuditEvent.LOGIN_FAILED, obj=user, actor=f"({username})",
                object_repr=username, details={"username": username},
                source_ip=client_ip(request) if request else None)
