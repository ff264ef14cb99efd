"""Multi-factor authentication: forced enrolment, TOTP verification, recovery codes, reset by the CISO."""

from __future__ import annotations

import re
import time
from base64 import b32encode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mamoru.core import services_auth
from mamoru.core.choices import AuditEvent
from mamoru.core.middleware import session_mfa_satisfied
from mamoru.core.models import AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ENROL = "/accounts/mfa/enrol/"
VERIFY = "/accounts/mfa/verify/"
RECOVERY = "/accounts/mfa/recovery/"
BAD_CODE = "That code is not correct or has already been used."


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def no_throttle(settings):
    # django-otp makes a device wait 1 s, 2 s, 4 s … after each wrong code; tests that follow a wrong code
    # with a right one immediately switch that off (the back-off itself is tested separately).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    if steps_ahead == 0:
        value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    else:
        gen = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        gen.time = time.time() + steps_ahead * device.step
        value = gen.token()
    return f"{value:0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    accepted = {code_for(device, s) for s in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in accepted)


def password_sign_in(username: str) -> Client:
    client = Client()
    response = client.post(reverse("core:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    """Enrol ``user`` through the services, as the enrolment page does."""
    device = services_auth.mfa_enrol_start(user=user)
    result = services_auth.mfa_enrol_confirm(user=user, token=code_for(device))
    assert result.ok
    device.refresh_from_db()
    return device, result.codes


def events(name: str, **filters: object):
    return AuditEntry.objects.filter(event=name, **filters)


# --- forced enrolment and enrolment ---------------------------------------------------------------

@pytest.mark.parametrize("persona", ["ciso", "chief", "sysadmin_a", "auditor"])
def test_roles_requiring_mfa_are_forced_to_enrol(login_as, persona):
    client = login_as(persona, verified=False)
    for path in ("/", "/people/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(ENROL)
    assert client.get(ENROL).status_code == 200


def test_mfa_for_everyone_when_configured(login_as, settings):
    client = login_as("staff_a", verified=False)
    assert client.get("/").status_code == 200
    settings.MFA_REQUIRED_FOR_ALL = True
    assert client.get("/")["Location"] == f"{ENROL}?next=%2F"


def test_staff_without_mfa_requirement_uses_the_site(world):
    client = password_sign_in("staff_a")
    response = client.get("/")
    assert response.status_code == 200 and "<h1>Home</h1>" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=world.user("staff_a")).exists()


def test_ciso_enrols_with_a_real_totp_code(world):
    ciso = world.user("ciso")
    client = password_sign_in("ciso")
    page = client.get(client.get("/")["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    device = TOTPDevice.objects.get(user=ciso, confirmed=False)
    shown = re.search(r'id="mfa-secret"[^>]*>([A-Z2-7 ]+)<', body).group(1)
    assert shown.replace(" ", "") == b32encode(device.bin_key).decode()
    assert 'src="/accounts/mfa/qr.svg"' in body
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body

    qr = client.get(reverse("core:mfa_qr"))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert qr.content.lstrip().startswith(b"<svg") and b"href" not in qr.content

    done = client.post(ENROL, {"token": code_for(device), "next": "/people/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/people/"' in done.content.decode()
    assert events(AuditEvent.MFA_ENROLLED, actor="ciso").count() == 1
    assert client.get("/").status_code == 200  # the session is verified now
    assert client.get(reverse("core:mfa_qr")).status_code == 404  # nothing pending any more


def test_full_width_digits_are_accepted(world):
    client = password_sign_in("ciso")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=world.user("ciso"), confirmed=False)
    full_width = code_for(device).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.post(ENROL, {"token": full_width}).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_wrong_code_is_rejected_during_enrolment(world):
    client = password_sign_in("ciso")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=world.user("ciso"))
    response = client.post(ENROL, {"token": wrong_code_for(device)})
    assert response.status_code == 200 and BAD_CODE in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert events(AuditEvent.MFA_FAILED, actor="ciso").count() == 1
    assert client.get("/")["Location"].startswith(ENROL)


def test_enrolment_cannot_add_a_device_without_passing_the_existing_one(world):
    enrolled(world.user("staff_a"))
    client = password_sign_in("staff_a")  # password only: MFA still pending
    assert client.get(ENROL)["Location"].startswith(VERIFY)
    assert client.post(ENROL, {"token": "123456"})["Location"].startswith(VERIFY)
    assert client.get(reverse("core:mfa_qr")).status_code == 404
    assert TOTPDevice.objects.filter(user=world.user("staff_a")).count() == 1


# --- verification at sign-in -----------------------------------------------------------------------

def test_user_with_device_must_verify(world, no_throttle):
    device, _ = enrolled(world.user("staff_a"))
    client = password_sign_in("staff_a")
    assert client.get("/people/")["Location"] == f"{VERIFY}?next=%2Fpeople%2F"
    page = client.get(f"{VERIFY}?next=%2Fpeople%2F")
    assert 'inputmode="numeric"' in page.content.decode() and 'value="/people/"' in page.content.decode()

    wrong = client.post(VERIFY, {"token": wrong_code_for(device), "next": "/people/"})
    assert wrong.status_code == 200 and BAD_CODE in wrong.content.decode()
    assert events(AuditEvent.MFA_FAILED, actor="staff_a").count() == 1
    assert client.get("/").status_code == 302

    right = client.post(VERIFY, {"token": code_for(device, 1), "next": "/people/"})
    assert right.status_code == 302 and right["Location"] == "/people/"
    assert client.get("/").status_code == 200


def test_a_code_cannot_be_used_twice(world, no_throttle):
    device = TOTPDevice.objects.create(user=world.user("ciso"), name="phone", confirmed=True)
    code = code_for(device)
    first = password_sign_in("ciso")
    assert first.post(VERIFY, {"token": code})["Location"] == "/"

    second = password_sign_in("ciso")
    replay = second.post(VERIFY, {"token": code})
    assert replay.status_code == 200 and BAD_CODE in replay.content.decode()
    assert second.get("/").status_code == 302
    # The server may have learnt a drift from the first code (when a 30-second step ended meanwhile):
    # the next code is computed with the device as the server now has it.
    device.refresh_from_db()
    assert second.post(VERIFY, {"token": code_for(device, 1)})["Location"] == "/"


def test_repeated_wrong_codes_make_the_device_wait(world):
    device = TOTPDevice.objects.create(user=world.user("ciso"), name="phone", confirmed=True,
                                       throttling_failure_count=5,
                                       throttling_failure_timestamp=timezone.now())
    client = password_sign_in("ciso")
    response = client.post(VERIFY, {"token": code_for(device)})
    assert response.status_code == 200
    assert "Too many wrong codes. Wait" in response.content.decode()
    assert client.get("/").status_code == 302
    assert events(AuditEvent.MFA_FAILED, actor="ciso").get().changes["throttled_seconds"] > 0


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_verification_never_redirects_off_site(world, evil):
    device = TOTPDevice.objects.create(user=world.user("ciso"), name="phone", confirmed=True)
    client = password_sign_in("ciso")
    page = client.get(VERIFY, {"next": evil})
    assert evil not in page.content.decode()
    assert client.post(VERIFY, {"token": code_for(device), "next": evil})["Location"] == "/"


def test_next_is_url_encoded_by_the_gate(world):
    TOTPDevice.objects.create(user=world.user("staff_a"), name="phone", confirmed=True)
    client = password_sign_in("staff_a")
    response = client.get("/people/?q=a&page=2")
    assert response["Location"] == f"{VERIFY}?next=%2Fpeople%2F%3Fq%3Da%26page%3D2"


# --- recovery codes ------------------------------------------------------------------------------------

def test_recovery_code_works_once(world, no_throttle):
    _, codes = enrolled(world.user("ciso"))
    client = password_sign_in("ciso")
    assert client.get(VERIFY).status_code == 200
    page = client.get(RECOVERY, {"next": "/people/"})
    assert page.status_code == 200 and '<label for="id_code">' in page.content.decode()

    used = client.post(RECOVERY, {"code": codes[0], "next": "/people/"})
    assert used.status_code == 302 and used["Location"] == "/people/"
    entry = events(AuditEvent.RECOVERY_CODE_USED, actor="ciso").get()
    assert entry.changes == {"remaining": 9}
    assert "9 recovery codes are left" in client.get("/").content.decode()

    again = password_sign_in("ciso")
    response = again.post(RECOVERY, {"code": codes[0]})
    assert response.status_code == 200
    assert "That recovery code is not valid or has already been used." in response.content.decode()
    assert again.get("/").status_code == 302
    assert events(AuditEvent.MFA_FAILED, actor="ciso").count() == 1
    # Typed in full-width capitals with a space, another code still works.
    typed = codes[1].upper().translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
                                                     "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ２３４５６７"))
    assert again.post(RECOVERY, {"code": typed[:4] + " " + typed[4:]})["Location"] == "/"
    assert StaticToken.objects.filter(device__user=world.user("ciso")).count() == 8


# --- reset by the CISO / 統括 ----------------------------------------------------------------------------

def test_ciso_resets_mfa_of_a_system_administrator(world, login_as):
    target = world.people["sysadmin_a"]
    enrolled(target.user)
    victim_session = login_as("sysadmin_a")  # a session verified before the reset
    assert victim_session.get("/").status_code == 200

    ciso = login_as("ciso")
    url = reverse("core:mfa_reset", args=[target.pk])
    assert ciso.get(url).status_code == 405
    response = ciso.post(url)
    assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
    assert not TOTPDevice.objects.filter(user=target.user).exists()
    assert not StaticDevice.objects.filter(user=target.user).exists()
    entry = events(AuditEvent.MFA_RESET, actor="ciso").get()
    assert entry.object_id == str(target.pk) and entry.changes["user"] == "sysadmin_a"
    assert entry.changes["devices_removed"] == 3  # the fixture's device, the authenticator, the codes
    # The old session no longer counts as verified; the administrator must enrol again.
    assert victim_session.get("/")["Location"].startswith(ENROL)


@pytest.mark.parametrize("persona", ["manager_a", "staff_a", "other_ciso"])
def test_mfa_reset_is_404_for_those_who_may_not_change_the_person(world, login_as, persona):
    target = world.people["staff_a"]
    enrolled(target.user)
    response = login_as(persona).post(reverse("core:mfa_reset", args=[target.pk]))
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=target.user, confirmed=True).exists()
    assert not events(AuditEvent.MFA_RESET).exists()


# --- the API's question -----------------------------------------------------------------------------

def test_session_mfa_satisfied(world):
    staff, ciso = world.user("staff_a"), world.user("ciso")
    assert session_mfa_satisfied(staff)  # no device, not required
    assert not session_mfa_satisfied(ciso)  # required, not enrolled
    assert not session_mfa_satisfied(AnonymousUser())
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    staff.is_verified = lambda: False
    assert not session_mfa_satisfied(staff)  # enrolled but not verified in this session
    staff.is_verified = lambda: True
    assert session_mfa_satisfied(staff)


def test_verified_user_replaces_recovery_codes_and_old_ones_stop_working(world, login_as):
    from django_otp.plugins.otp_static.models import StaticToken

    from mamoru.core import services_auth
    from mamoru.core.models import AuditEntry

    user = world.user("staff_a")
    old = services_auth.recovery_codes_replace(user=user)
    client = login_as("staff_a")
    assert "10" in client.get("/account/security/").content.decode()
    response = client.post("/account/security/recovery-codes/")
    new = list(response.context["codes"])
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == set(new)
    assert AuditEntry.objects.filter(event="recovery_codes_replaced", actor="staff_a").exists()
