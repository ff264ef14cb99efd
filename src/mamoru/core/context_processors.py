"""Navigation: only links the user can use, and the signed-in user's name for the header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    from mamoru.core.access import user_display_name
    from mamoru.core.middleware import session_mfa_satisfied
    from mamoru.core.navigation import menu_for

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    # The header's name comes from the person row access reads anyway (no query of its own).
    name = user_display_name(user)
    if not session_mfa_satisfied(user):
        return {"nav_items": [], "user_display_name": name}  # nothing to navigate to before MFA is complete
    return {"nav_items": menu_for(request), "user_display_name": name}
