"""REST API routes (/api/): the viewsets, the OpenAPI schema and its Swagger UI (served offline)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from mamoru.assets.api import register as register_assets
from mamoru.compliance.api import register as register_compliance
from mamoru.core.api import register as register_core
from mamoru.core.middleware import has_mfa_device, safe_next, session_mfa_satisfied, with_next


class Router(DefaultRouter):
    include_format_suffixes = False  # JSON only: no /api/org-units.json twins of every route


router = Router()
register_core(router)
register_compliance(router)
register_assets(router)

def mfa_session_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like the page middleware (which leaves /api/ alone): a session must have passed MFA first."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not session_mfa_satisfied(request.user):
            step = "core:mfa_verify" if has_mfa_device(request.user) else "core:mfa_enrol"
            return redirect(with_next(step, safe_next(request, request.get_full_path())))
        return view(request, *args, **kwargs)

    return wrapped


# The schema is for signed-in callers only (a token or an MFA-verified session).
schema_view = SpectacularAPIView.as_view(permission_classes=[IsAuthenticated])
# The split view serves Swagger UI's start-up code as a script file of its own, so the page runs under
# our Content-Security-Policy (script-src 'self', no inline scripts or styles); assets come from the
# sidecar package through our static files, never from a CDN.
docs_view = login_required(mfa_session_required(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")))

urlpatterns = [
    path("", include(router.urls)),
    path("schema/", schema_view, name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
]
