"""Personal API tokens: the CLI, bearer authentication, rejection, revocation and the token page."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from mamoru.core.choices import AuditEvent
from mamoru.core.models import ApiToken, AuditEntry
from mamoru.core.services_tokens import token_revoke
from tests.api.conftest import bearer
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

ORG_UNITS = "/api/org-units/"


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue()


# --- the CLI -------------------------------------------------------------------------------------

def test_cli_token_authenticates_the_api(world):
    output = cli("create", "--user", "ciso", "--name", "nightly export", "--expires-days", "30")
    raw = output.strip().splitlines()[-1]
    assert raw.startswith(ApiToken.PREFIX) and " " not in raw

    response = bearer(raw).get(ORG_UNITS)
    assert response.status_code == 200
    assert "テスト市" in {u["name"] for u in response.json()["results"]}

    token = ApiToken.objects.get(user=world.user("ciso"))
    assert token.name == "nightly export" and raw.startswith(token.key_prefix)
    assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=29)
    created = AuditEntry.objects.get(event=AuditEvent.TOKEN_CREATED)
    assert created.actor == "mamoru token"
    assert raw not in str(created.changes) and created.changes["key_prefix"] == token.key_prefix


def test_cli_token_keyword_token_is_accepted_too(world):
    raw = cli("create", "--user", "staff_b").strip().splitlines()[-1]
    assert bearer(raw, keyword="Token").get(ORG_UNITS).status_code == 200


def test_cli_list_and_revoke(world):
    raw = cli("create", "--user", "manager_a", "--name", "report").strip().splitlines()[-1]
    prefix = raw[:10]
    listing = cli("list", "--user", "manager_a")
    assert prefix in listing and "active" in listing and raw not in listing

    assert "revoked" in cli("revoke", "--user", "manager_a", "--prefix", prefix)
    assert bearer(raw).get(ORG_UNITS).status_code == 401
    assert "revoked" in cli("list", "--user", "manager_a")
    revoked = AuditEntry.objects.get(event=AuditEvent.TOKEN_REVOKED)
    assert revoked.actor == "mamoru token"


def test_cli_unknown_user_is_a_clear_error(world):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        cli("create", "--user", "nobody")
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        cli("list", "--user", "nobody")


def test_cli_cannot_revoke_another_users_token(world, token_for):
    _, raw = token_for("ciso")
    with pytest.raises(CommandError, match="has no token with prefix"):
        cli("revoke", "--user", "staff_a", "--prefix", raw[:10])
    assert bearer(raw).get(ORG_UNITS).status_code == 200


def test_cli_rejects_silly_expiry(world):
    with pytest.raises(CommandError, match="--expires-days"):
        cli("create", "--user", "ciso", "--expires-days", "0")


def test_unknown_user_exits_1_through_the_mamoru_command(world):
    from mamoru.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["token", "create", "--user", "nobody"])
    assert exc.value.code == 1


# --- authentication -------------------------------------------------------------------------------

def test_revoked_token_is_refused_with_401_and_audited(world, token_for):
    token, raw = token_for("ciso")
    token_revoke(token=token, actor=world.user("ciso"))

    response = bearer(raw).get(ORG_UNITS)
    assert response.status_code == 401
    assert "失効しています" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    entry = AuditEntry.objects.filter(event=AuditEvent.TOKEN_REJECTED).get()
    assert entry.changes == {"key_prefix": token.key_prefix, "reason": "revoked"}
    assert raw not in f"{entry.actor} {entry.object_repr} {entry.changes}"
    # scoped to the owner's unit, so the CISO's audit view shows it
    assert AuditEntry.objects.restrict(world.user("ciso"), "view").filter(pk=entry.pk).exists()


def test_expired_token_is_refused(world, token_for):
    token, raw = token_for("staff_a", expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get(ORG_UNITS)
    assert response.status_code == 401 and "有効期限が切れています" in response.json()["detail"]
    assert AuditEntry.objects.get(event=AuditEvent.TOKEN_REJECTED).changes["reason"] == "expired"


def test_unknown_token_is_refused_and_only_its_prefix_recorded(world):
    raw = ApiToken.PREFIX + "x" * 43
    response = bearer(raw).get(ORG_UNITS)
    assert response.status_code == 401 and response.json()["detail"].startswith("APIトークンが無効です。")
    entry = AuditEntry.objects.get(event=AuditEvent.TOKEN_REJECTED)
    assert entry.changes == {"key_prefix": raw[:10], "reason": "unknown"}
    assert raw not in f"{entry.actor} {entry.object_repr} {entry.changes}"


def test_foreign_secret_is_not_recorded_at_all(world):
    response = bearer("my-password-by-mistake").get(ORG_UNITS)
    assert response.status_code == 401
    entry = AuditEntry.objects.get(event=AuditEvent.TOKEN_REJECTED)
    assert "my-pass" not in f"{entry.actor} {entry.object_repr} {entry.changes}"


def test_inactive_owner_is_refused(world, token_for):
    _, raw = token_for("staff_a")
    user = world.user("staff_a")
    user.is_active = False
    user.save()
    assert bearer(raw).get(ORG_UNITS).status_code == 401


def test_malformed_header_is_refused(world):
    assert bearer("").get(ORG_UNITS).status_code == 401
    assert bearer("a b").get(ORG_UNITS).status_code == 401


def test_no_credentials_is_401(world):
    from django.test import Client

    assert Client().get(ORG_UNITS).status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute_without_audit_noise(world, token_for):
    token, raw = token_for("staff_a")
    client = bearer(raw)
    entries_before = AuditEntry.objects.count()
    client.get(ORG_UNITS)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get(ORG_UNITS)
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: no second write
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get(ORG_UNITS)
    token.refresh_from_db()
    assert token.last_used_at > first
    assert AuditEntry.objects.count() == entries_before


def test_session_without_mfa_is_not_an_api_login(world):
    # the CISO needs MFA; a session that has not passed it gets nothing from the API
    client = signed_in_client(world.user("ciso"), verified=False)
    assert client.get(ORG_UNITS).status_code in (401, 403)
    verified = signed_in_client(world.user("ciso"))
    assert verified.get(ORG_UNITS).status_code == 200


def test_session_of_user_without_mfa_obligation_is_accepted(world):
    client = signed_in_client(world.user("staff_b"), verified=False)
    assert client.get(ORG_UNITS).status_code == 200


# --- /api/tokens/ ----------------------------------------------------------------------------------

def test_api_lists_creates_and_revokes_own_tokens(world, token_for, api_as):
    other, _ = token_for("staff_a")
    client = api_as("manager_a")
    listed = client.get("/api/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["test manager_a"]

    created = client.post("/api/tokens/", {"name": "ci"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith(body["key_prefix"]) and body["status"] == "active"
    assert bearer(body["token"]).get(ORG_UNITS).status_code == 200
    # shown once: never again in a listing or a detail
    assert "token" not in client.get(f"/api/tokens/{body['id']}/").json()
    assert all("token" not in t for t in client.get("/api/tokens/").json()["results"])

    assert client.delete(f"/api/tokens/{body['id']}/").status_code == 204
    assert bearer(body["token"]).get(ORG_UNITS).status_code == 401
    assert client.get(f"/api/tokens/{body['id']}/").json()["status"] == "revoked"

    # another user's token: as if it did not exist
    assert client.get(f"/api/tokens/{other.pk}/").status_code == 404
    assert client.delete(f"/api/tokens/{other.pk}/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_api_token_create_validates(world, api_as):
    client = api_as("staff_a")
    assert client.post("/api/tokens/", {"name": ""}, content_type="application/json").status_code == 400
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post("/api/tokens/", {"name": "x", "expires_at": past}, content_type="application/json")
    assert response.status_code == 400 and "expires_at" in response.json()


def test_expiring_token_cannot_mint_a_longer_lived_one(world, token_for):
    soon = timezone.now() + timedelta(days=1)
    _, raw = token_for("staff_a", expires_at=soon)
    client = bearer(raw)
    response = client.post("/api/tokens/", {"name": "forever"}, content_type="application/json")
    assert response.status_code == 400 and "expires_at" in response.json()
    ok = client.post("/api/tokens/", {"name": "short", "expires_at": (soon - timedelta(hours=1)).isoformat()},
                     content_type="application/json")
    assert ok.status_code == 201


# --- the token page --------------------------------------------------------------------------------

def test_token_page_creates_and_shows_the_token_once(world):
    client = signed_in_client(world.user("staff_a"))
    page = client.get(reverse("core:token_list"))
    assert page.status_code == 200 and "APIトークンはありません。" in page.content.decode()

    response = client.post(reverse("core:token_list"), {"name": "my script", "expires_days": "30"})
    assert response.status_code == 200
    html = response.content.decode()
    token = ApiToken.objects.get(user=world.user("staff_a"))
    raw = html.split('id="new-token" class="codes" value="')[1].split('"')[0]
    assert raw.startswith(token.key_prefix)
    assert "このトークンを今すぐコピ" in html  # the copy-it-now warning
    assert "no-store" in response.headers["Cache-Control"]
    assert bearer(raw).get(ORG_UNITS).status_code == 200

    again = client.get(reverse("core:token_list")).content.decode()
    assert raw not in again and token.key_prefix in again and "my script" in again


def test_token_page_rejects_bad_input(world):
    client = signed_in_client(world.user("staff_a"))
    response = client.post(reverse("core:token_list"), {"name": "", "expires_days": "0"})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert 'class="errorlist' in response.content.decode()


def test_token_page_revokes_own_token(world, token_for):
    token, raw = token_for("staff_a")
    client = signed_in_client(world.user("staff_a"))
    response = client.post(reverse("core:token_revoke", args=[token.pk]))
    assert response.status_code == 302 and response.url == reverse("core:token_list")
    assert bearer(raw).get(ORG_UNITS).status_code == 401
    assert AuditEntry.objects.get(event=AuditEvent.TOKEN_REVOKED).actor == "staff_a"


def test_token_page_cannot_revoke_another_users_token(world, token_for):
    token, raw = token_for("ciso")
    client = signed_in_client(world.user("staff_a"))
    assert client.post(reverse("core:token_revoke", args=[token.pk])).status_code == 404
    assert bearer(raw).get(ORG_UNITS).status_code == 200


def test_token_revoke_is_post_only(world, token_for):
    token, _ = token_for("staff_a")
    client = signed_in_client(world.user("staff_a"))
    assert client.get(reverse("core:token_revoke", args=[token.pk])).status_code == 405


def test_token_page_needs_sign_in(world):
    from django.test import Client

    assert Client().get(reverse("core:token_list")).status_code == 302
