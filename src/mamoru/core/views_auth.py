"""Sign-in, multi-factor authentication, password change, lockout and forged-form pages.

Thin: each view parses, authorises and calls :mod:`mamoru.core.services_auth`.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from mamoru.core import services_auth
from mamoru.core.access import record_denied
from mamoru.core.forms_auth import LoginForm, RecoveryCodeForm, TOTPForm
from mamoru.core.middleware import has_mfa_device, mfa_required, safe_next, with_next
from mamoru.core.models import Person


def _next_url(request: HttpRequest) -> str:
    """Where to go after this step: a validated local ``next``, else the home page."""
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    return safe_next(request, candidate) or resolve_url(settings.LOGIN_REDIRECT_URL)


def _mark_verified(request: HttpRequest, device: Any) -> None:
    request.session.cycle_key()  # the session gains privilege: give it a new key
    otp_login(request, device)


def _code_error(result: services_auth.CheckResult) -> str:
    if result.wait_seconds:
        return ngettext(
            "Too many wrong codes. Wait %(seconds)d second and try again.",
            "Too many wrong codes. Wait %(seconds)d seconds and try again.",
            result.wait_seconds) % {"seconds": result.wait_seconds}
    return _("That code is not correct or has already been used. "
             "Enter the code your authenticator app shows now.")


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # signs in; django-axes has already checked the lockout
        step = services_auth.login_next_step(user=form.get_user())
        if step:
            return redirect(with_next(step, self.get_success_url()))
        return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


def _skip_mfa_step(user: Any, next_url: str) -> HttpResponse | None:
    """Where to go instead of a verification step: on when verified, to enrolment when there is no device."""
    if user.is_verified():
        return redirect(next_url)
    if not has_mfa_device(user):
        return redirect(with_next("core:mfa_enrol", next_url) if mfa_required(user) else next_url)
    return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    next_url = _next_url(request)
    if (done := _skip_mfa_step(user, next_url)) is not None:
        return done
    form = TOTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services_auth.mfa_verify(user=user, token=form.cleaned_data["token"])
        if result.ok:
            _mark_verified(request, result.device)
            return redirect(next_url)
        form.add_error("token", _code_error(result))
    return render(request, "core/mfa_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    next_url = _next_url(request)
    if has_mfa_device(user):
        if user.is_verified():
            messages.info(request, _("Multi-factor authentication is already set up for your account."))
            return redirect(next_url)
        return redirect(with_next("core:mfa_verify", next_url))
    form = TOTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services_auth.mfa_enrol_confirm(user=user, token=form.cleaned_data["token"])
        if result.ok:
            _mark_verified(request, result.device)
            # The codes are shown in this response only; they are never stored in the session.
            return render(request, "core/mfa_recovery_codes.html", {"codes": result.codes, "next": next_url})
        form.add_error("token", _code_error(result))
    device = services_auth.mfa_enrol_start(user=user)
    return render(request, "core/mfa_enrol.html", {
        "form": form, "next": next_url, "required": mfa_required(user),
        "secret": services_auth.mfa_secret_text(device=device),
        "digits": device.digits, "period": device.step,
    })


@never_cache
@login_required
def mfa_qr(request: HttpRequest) -> HttpResponse:
    device = services_auth.mfa_pending_device(user=request.user)
    if device is None:
        raise Http404(_("No multi-factor authentication set-up is in progress."))
    return HttpResponse(services_auth.mfa_qr_svg(device=device), content_type="image/svg+xml")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_recovery(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    next_url = _next_url(request)
    if (done := _skip_mfa_step(user, next_url)) is not None:
        return done
    form = RecoveryCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services_auth.mfa_recovery_use(user=user, code=form.cleaned_data["code"])
        if result.ok:
            _mark_verified(request, result.device)
            messages.warning(request, ngettext(
                "You signed in with a recovery code. %(count)d recovery code is left. If you have lost "
                "your authenticator, ask the chief information security officer or the CISO to reset it.",
                "You signed in with a recovery code. %(count)d recovery codes are left. If you have lost "
                "your authenticator, ask the chief information security officer or the CISO to reset it.",
                result.remaining_codes or 0) % {"count": result.remaining_codes or 0})
            return redirect(next_url)
        if result.wait_seconds:
            form.add_error("code", _code_error(result))
        else:
            form.add_error("code", _("That recovery code is not valid or has already been used."))
    return render(request, "core/mfa_recovery.html", {"form": form, "next": next_url})


@login_required
@require_POST
def mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    person = (Person.objects.restrict(request.user, "change")
              .filter(pk=pk, user__isnull=False).select_related("user").first())
    if person is None:
        record_denied(Person, request.user, "change", pk=pk)
        raise Http404(_("Not found, or you do not have access to it."))
    services_auth.mfa_reset(actor=request.user, person=person)
    messages.success(request, _("Multi-factor authentication of %(name)s was reset. They will set it up "
                                "again at their next sign-in.") % {"name": person.full_name})
    return redirect(person.get_absolute_url())


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    success_url = reverse_lazy("core:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services_auth.password_changed(user=form.user)
        messages.success(self.request, _("Your password has been changed."))
        return response


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page shown for a sign-in refused because of repeated failures."""
    services_auth.lockout_record(request=request, credentials=credentials)
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    response = render(request, "core/locked_out.html", {"minutes": minutes}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a forged, stale or cookie-less form submission."""
    services_auth.csrf_failure_record(path=request.path, reason=reason)
    return render(request, "core/csrf_failure.html", status=403)


@never_cache
@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(request, "core/account_security.html", {
        "has_mfa": has_mfa_device(user), "mfa_required": mfa_required(user),
        "recovery_left": services_auth.recovery_codes_left(user=user)})


@never_cache
@login_required
@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not has_mfa_device(user):
        raise Http404(_("Multi-factor authentication is not set up for your account."))
    codes = services_auth.recovery_codes_regenerate(user=user)
    return render(request, "core/mfa_recovery_codes.html",
                  {"codes": codes, "next": reverse("core:account_security"), "replaced": True})
