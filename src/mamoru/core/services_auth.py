"""Sign-in security: MFA enrolment and verification, recovery codes, MFA reset, lockout and their audit events.

Views in :mod:`mamoru.core.views_auth` parse and authorise; the rules live here. Every function that
accepts or rejects a second factor records the outcome in the audit trail.
"""

from __future__ import annotations

import io
import math
from base64 import b32encode
from dataclasses import dataclass, field
from typing import Any

import segno
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import device_classes
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.middleware import has_mfa_device, mfa_required
from mamoru.core.models import Person

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"


class MFAAlreadyEnrolled(Exception):
    """The user already has a confirmed second factor; enrolling another needs an MFA reset first."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of checking a one-time code."""

    ok: bool
    device: Device | None = None
    wait_seconds: int = 0  # > 0: too many wrong codes; the device refuses codes for this long
    remaining_codes: int | None = None  # recovery codes left after a successful use
    codes: list[str] = field(default_factory=list)  # new recovery codes (enrolment only)


# --- where a signed-in user goes next -------------------------------------------------------------

def login_next_step(*, user: Any) -> str | None:
    """URL name of the MFA step a freshly signed-in ``user`` must take, or None when there is none."""
    if has_mfa_device(user):
        return "core:mfa_verify"
    if mfa_required(user):
        return "core:mfa_enrol"
    return None


# --- enrolment --------------------------------------------------------------------------------------

def mfa_pending_device(*, user: Any) -> TOTPDevice | None:
    """The authenticator being set up (unconfirmed), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def mfa_enrol_start(*, user: Any) -> TOTPDevice:
    """Begin (or resume) enrolment: an unconfirmed TOTP device with a fresh random key.

    Resuming keeps the same key, so reloading the page does not invalidate a QR code already scanned.
    """
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        raise MFAAlreadyEnrolled
    device = mfa_pending_device(user=user)
    if device is None:
        device = TOTPDevice(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
        device.full_clean()
        device.save()
    return device


def mfa_secret_text(*, device: TOTPDevice) -> str:
    """The device key in base32, grouped by four characters for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def mfa_qr_svg(*, device: TOTPDevice) -> bytes:
    """The provisioning URI of ``device`` as an SVG QR code, generated locally (no external service)."""
    buf = io.BytesIO()
    segno.make(device.config_url, error="m", micro=False).save(
        buf, kind="svg", border=4, dark="#000000", light="#ffffff", xmldecl=False,
        svgclass=None, lineclass=None, omitsize=True)  # viewBox only: the page sizes it (.qr img)
    return buf.getvalue()


@transaction.atomic
def mfa_enrol_confirm(*, user: Any, token: str) -> CheckResult:
    """Confirm the pending authenticator with a code from the app; on success issue recovery codes."""
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        raise MFAAlreadyEnrolled
    device = (TOTPDevice.objects.select_for_update()
              .filter(user=user, confirmed=False).order_by("-pk").first())
    if device is None:
        return CheckResult(ok=False)
    result = _check(device, token)
    if not result.ok:
        _record_failure(user=user, method="totp", stage="enrol", wait_seconds=result.wait_seconds)
        return result
    device.confirmed = True
    device.save()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = recovery_codes_replace(user=user)
    audit.event(AuditEvent.MFA_ENROLLED, obj=user, actor=user,
                details={"device": device.name, "recovery_codes": len(codes)})
    return CheckResult(ok=True, device=device, codes=codes)


def recovery_codes_replace(*, user: Any) -> list[str]:
    """Replace the user's recovery codes with :data:`RECOVERY_CODE_COUNT` new ones; returns them once."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes: list[str] = []
        while len(codes) < RECOVERY_CODE_COUNT:
            code = StaticToken.random_token()
            if code not in codes:
                codes.append(code)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(*, user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def recovery_codes_regenerate(*, user: Any) -> list[str]:
    """A signed-in, verified user replaces their recovery codes (the old ones stop working); audited."""
    codes = recovery_codes_replace(user=user)
    audit.event(AuditEvent.RECOVERY_CODES_REPLACED, obj=user, actor=user)
    return codes


# --- verification -----------------------------------------------------------------------------------

def _wait_seconds(device: Device) -> int:
    allowed, info = device.verify_is_allowed()
    if allowed:
        return 0
    until = (info or {}).get("locked_until")
    if until is None:
        return 1
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def _check(device: Device, token: str) -> CheckResult:
    wait = _wait_seconds(device)
    if wait:
        return CheckResult(ok=False, wait_seconds=wait)
    if device.verify_token(token):  # TOTP: only steps after last_t; static: the token is deleted
        return CheckResult(ok=True, device=device)
    return CheckResult(ok=False, wait_seconds=0)


def _record_failure(*, user: Any, method: str, stage: str, wait_seconds: int = 0) -> None:
    details: dict[str, Any] = {"method": method, "stage": stage}
    if wait_seconds:
        details["throttled_seconds"] = wait_seconds
    audit.event(AuditEvent.MFA_FAILED, obj=user, actor=user, details=details)


@transaction.atomic
def mfa_verify(*, user: Any, token: str) -> CheckResult:
    """Check a code from the user's authenticator app. A code is accepted once (django-otp's last_t)."""
    wait = 0
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
        result = _check(device, token)
        if result.ok:
            return result
        wait = max(wait, result.wait_seconds)
    _record_failure(user=user, method="totp", stage="sign_in", wait_seconds=wait)
    return CheckResult(ok=False, wait_seconds=wait)


@transaction.atomic
def mfa_recovery_use(*, user: Any, code: str) -> CheckResult:
    """Sign in with a recovery code. Each code works once: it is deleted when accepted."""
    wait = 0
    for device in StaticDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
        result = _check(device, code)
        if result.ok:
            remaining = device.token_set.count()
            audit.event(AuditEvent.RECOVERY_CODE_USED, obj=user, actor=user, details={"remaining": remaining})
            return CheckResult(ok=True, device=device, remaining_codes=remaining)
        wait = max(wait, result.wait_seconds)
    _record_failure(user=user, method="recovery_code", stage="sign_in", wait_seconds=wait)
    return CheckResult(ok=False, wait_seconds=wait)


def recovery_codes_remaining(*, user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- reset by the CISO / 統括 ---------------------------------------------------------------------------

@transaction.atomic
def mfa_reset(*, actor: Any, person: Person) -> int:
    """Remove every second factor of ``person``'s account; they enrol again at their next sign-in.

    The caller has checked that ``actor`` may change ``person``. Returns the number of devices removed.
    """
    user = person.user
    if user is None:
        raise ValueError("This person has no user account.")
    removed = 0
    for model in device_classes():
        _total, per_model = model.objects.filter(user=user).delete()  # also deletes recovery codes
        removed += per_model.get(model._meta.label, 0)
    audit.event(AuditEvent.MFA_RESET, obj=person, actor=actor,
                details={"user": user.get_username(), "devices_removed": removed})
    return removed


# --- password, lockout, forged forms --------------------------------------------------------------

def password_changed(*, user: Any) -> None:
    audit.event(AuditEvent.PASSWORD_CHANGED, obj=user, actor=user)


def lockout_record(*, request: HttpRequest, credentials: dict[str, Any] | None) -> None:
    """Record a refused sign-in while the account or the address is locked out."""
    from django.contrib.auth import get_user_model

    username = (get_client_username(request, credentials) or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit.event(AuditEvent.LOCKED_OUT, obj=user, actor=f"({username})" if username else None,
                object_repr=username, details={"username": username})


def csrf_failure_record(*, path: str, reason: str) -> None:
    audit.event(AuditEvent.CSRF_FAILURE, details={"path": path[:200], "reason": reason[:200]})


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, with a narrower reset after a successful sign-in.

    Axes' default clears every attempt matching *any* lockout parameter, i.e. all failures from the
    address. Someone holding one valid account could then sign in between guesses and never reach the
    limit on another account. Here a success clears only that account's failures from that address.
    """

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username,
                                                ip_address=request.axes_ip_address).delete()  # type: ignore[attr-defined]
        return count
