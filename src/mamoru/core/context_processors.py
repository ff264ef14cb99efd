"""Navigation: only links the user can use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    from mamoru.core.middleware import session_mfa_satisfied
    from mamoru.core.navigation import menu_for

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not session_mfa_satisfied(user):
        return {"nav_items": []}  # nothing to navigate to before sign-in (and MFA) is complete
    return {"nav_items": menu_for(request)}
