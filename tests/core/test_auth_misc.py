"""Password change, forged forms, session expiry, sign-out and the production password hasher."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kanazawa-river-lantern-7719"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def events(name: str, **filters: object):
    return AuditEntry.objects.filter(event=name, **filters)


# --- password change -------------------------------------------------------------------------------

def test_password_change_is_audited_and_takes_effect(world, login_as):
    client = login_as("staff_a")
    page = client.get(reverse("core:password_change"))
    body = page.content.decode()
    assert page.status_code == 200
    for field in ("old_password", "new_password1", "new_password2"):
        assert f'<label for="id_{field}">' in body
    assert 'autocomplete="current-password"' in body and 'autocomplete="new-password"' in body

    response = client.post(reverse("core:password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")  # still signed in (session hash updated)
    assert home.status_code == 200 and "Your password has been changed." in home.content.decode()
    assert events(AuditEvent.PASSWORD_CHANGED, actor="staff_a").count() == 1
    assert not any(NEW_PASSWORD in str(e.changes) for e in AuditEntry.objects.all())

    fresh = Client()
    assert fresh.post(reverse("core:login"), {"username": "staff_a", "password": PASSWORD}).status_code == 200
    assert fresh.post(reverse("core:login"),
                      {"username": "staff_a", "password": NEW_PASSWORD}).status_code == 302


def test_password_change_with_wrong_old_password_is_refused(world, login_as):
    client = login_as("staff_a")
    response = client.post(reverse("core:password_change"), {
        "old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 200 and 'aria-invalid="true"' in response.content.decode()
    assert not events(AuditEvent.PASSWORD_CHANGED).exists()
    assert check_password(PASSWORD, world.user("staff_a").password)


def test_password_change_needs_sign_in(client):
    response = client.get(reverse("core:password_change"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- forged forms -----------------------------------------------------------------------------------

def test_forged_post_gets_403_page_and_audit_entry(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("staff_a"))
    response = client.post(reverse("core:logout"))
    assert response.status_code == 403
    assert "The form could not be accepted" in response.content.decode()
    entry = events(AuditEvent.CSRF_FAILURE).get()
    assert entry.actor == "staff_a" and entry.changes["path"] == "/accounts/logout/"
    assert entry.changes["reason"]
    assert "_auth_user_id" in client.session  # not signed out by the forged form


def test_forged_sign_in_is_refused_before_checking_the_password(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("core:login"), {"username": "staff_a", "password": PASSWORD})
    assert response.status_code == 403
    assert events(AuditEvent.CSRF_FAILURE).count() == 1
    assert not events(AuditEvent.LOGIN).exists()


def test_genuine_form_passes_csrf_check(world):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("core:login"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("core:login"), {"username": "staff_a", "password": PASSWORD,
                                                   "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not events(AuditEvent.CSRF_FAILURE).exists()


# --- sessions and sign-out ---------------------------------------------------------------------------

def test_expired_session_is_sent_back_to_sign_in(login_as):
    client = login_as("staff_a")
    assert client.get("/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"


def test_each_request_extends_an_idle_session(login_as, settings):
    client = login_as("staff_a")
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    assert client.get("/").status_code == 200
    expires = Session.objects.get(session_key=key).expire_date
    expected = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((expires - expected).total_seconds()) < 60


def test_an_active_session_is_not_written_on_every_page(login_as):
    client = login_as("staff_a")
    assert client.get("/").status_code == 200  # first page: the expiry is pushed forward
    key = client.session.session_key
    saved = Session.objects.get(session_key=key).expire_date
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE \"django_session\"")]
    assert Session.objects.get(session_key=key).expire_date == saved


def test_sign_out_is_post_only(login_as):
    client = login_as("staff_a")
    assert client.get(reverse("core:logout")).status_code == 405
    assert client.get("/").status_code == 200
    response = client.post(reverse("core:logout"))
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert events(AuditEvent.LOGOUT, actor="staff_a").count() == 1
    assert client.get("/").status_code == 302


# --- hasher -------------------------------------------------------------------------------------------

def test_argon2_is_the_production_password_hasher():
    # conftest swaps in MD5 for speed, so read the hashers as the settings module defines them.
    real = importlib.import_module("mamoru.settings").PASSWORD_HASHERS
    assert real[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=real):
        encoded = make_password(PASSWORD)
        assert encoded.startswith("argon2$argon2id$")
        assert check_password(PASSWORD, encoded)
