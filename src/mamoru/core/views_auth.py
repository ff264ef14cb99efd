"""Sign-in, MFA, password change and API tokens (skeleton; completed by the sign-in work)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


def mfa_verify(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def mfa_enrol(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def mfa_qr(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def mfa_recovery(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    success_url = reverse_lazy("core:home")


def lockout_response(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    return render(request, "core/locked_out.html", status=429)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "core/csrf_failure.html", status=403)
