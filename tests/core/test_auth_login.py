"""Password sign-in: where a user lands, generic failure message, lockout per account and per address."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

INVALID = "The user name or password is not correct."
LOCKED = "Sign-in temporarily blocked"


@pytest.fixture(autouse=True)
def _english(settings):
    # Assert against the English msgids whatever the ja catalogue says.
    settings.LANGUAGE_CODE = "en"


def sign_in(client: Client, username: str, password: str = PASSWORD, ip: str = "192.0.2.10", **data: str):
    return client.post(reverse("core:login"), {"username": username, "password": password, **data},
                       REMOTE_ADDR=ip)


def entries(event: str, **filters: object):
    return AuditEntry.objects.filter(event=event, **filters)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_has_labelled_fields_with_autocomplete(client, world):
    body = client.get(reverse("core:login")).content.decode()
    assert '<label for="id_username">' in body and '<label for="id_password">' in body
    assert 'autocomplete="username"' in body and 'autocomplete="current-password"' in body


def test_staff_without_mfa_lands_on_home(client, world):
    response = sign_in(client, "staff_a")
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "<h1>Home</h1>" in home.content.decode()
    assert entries(AuditEvent.LOGIN, actor="staff_a").count() == 1


def test_ciso_without_device_is_sent_to_enrolment(client, world):
    response = sign_in(client, "ciso")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/enrol/?next=%2F"


def test_user_with_device_is_sent_to_verification_keeping_next(client, world):
    TOTPDevice.objects.create(user=world.user("staff_a"), name="phone", confirmed=True)
    response = sign_in(client, "staff_a", next="/people/?page=2")
    assert response["Location"] == "/accounts/mfa/verify/?next=%2Fpeople%2F%3Fpage%3D2"


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_offsite_next_is_ignored(client, world, evil):
    TOTPDevice.objects.create(user=world.user("ciso"), name="phone", confirmed=True)
    assert sign_in(client, "ciso", next=evil)["Location"] == "/accounts/mfa/verify/?next=%2F"
    assert sign_in(Client(), "staff_a", next=evil)["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_message(client, world):
    wrong = sign_in(client, "staff_a", password="not-the-password")
    unknown = sign_in(client, "nobody-here", password="not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert INVALID in response.content.decode()
    assert not is_signed_in(client)
    failed = entries(AuditEvent.LOGIN_FAILED)
    assert sorted(failed.values_list("object_repr", flat=True)) == ["nobody-here", "staff_a"]
    assert not any("not-the-password" in str(e.changes) for e in failed)


def test_lockout_per_account_from_many_addresses(client, settings, world):
    limit = settings.AXES_FAILURE_LIMIT
    for i in range(limit - 1):
        assert sign_in(client, "staff_a", password="wrong", ip=f"198.51.100.{i + 1}").status_code == 200
    locked = sign_in(client, "staff_a", password="wrong", ip="198.51.100.99")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    # The right password from yet another address is refused too, and nobody is signed in.
    refused = sign_in(client, "staff_a", ip="203.0.113.7")
    assert refused.status_code == 429 and not is_signed_in(client)
    assert entries(AuditEvent.LOCKED_OUT, object_repr="staff_a").count() == 2
    # Another account is not affected.
    assert sign_in(Client(), "staff_b", ip="203.0.113.8").status_code == 302


def test_lockout_per_address_with_different_user_names(client, settings, world):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{i}", password="wrong", ip="192.0.2.50")
    response = sign_in(client, "staff_b", ip="192.0.2.50")
    assert response.status_code == 429 and not is_signed_in(client)
    assert entries(AuditEvent.LOCKED_OUT, object_repr="staff_b").exists()
    assert sign_in(Client(), "staff_b", ip="192.0.2.51").status_code == 302


def test_lockout_lifts_after_cool_off(client, settings, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "staff_a", password="wrong")
    assert sign_in(client, "staff_a").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))
    response = sign_in(client, "staff_a")
    assert response.status_code == 302 and is_signed_in(client)


def test_lockout_page_is_the_translated_page_with_retry_after(settings, world):
    settings.LANGUAGE_CODE = "ja"
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "staff_a", password="wrong")
    assert response.status_code == 429
    assert "core/locked_out.html" in [t.name for t in response.templates]
    assert '<html lang="ja">' in response.content.decode()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def test_own_success_resets_own_failures(client, settings, world):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        sign_in(client, "staff_a", password="wrong")
    assert sign_in(client, "staff_a").status_code == 302
    for _ in range(limit - 1):
        assert sign_in(Client(), "staff_a", password="wrong").status_code == 200


def test_signing_in_to_one_account_does_not_reset_guesses_at_another(settings, world):
    # Axes' default reset would clear every failure from the address when staff_a signs in,
    # letting someone with one valid account guess another account's password without limit.
    limit = settings.AXES_FAILURE_LIMIT
    attacker = Client()
    for _ in range(limit - 1):
        sign_in(attacker, "staff_b", password="guess")
    assert sign_in(Client(), "staff_a").status_code == 302
    assert sign_in(attacker, "staff_b", password="guess").status_code == 429
