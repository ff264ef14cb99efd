"""Settings come from the environment with secure defaults; the mamoru command dispatches."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from mamoru.core.models import OrgUnit, Person, Role, RoleAssignment

MAMORU = str(Path(sys.executable).with_name("mamoru"))


def settings_in(tmp_path: Path, **env: str) -> dict:
    code = ("import json, mamoru.settings as s; print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
            "'key': s.SECRET_KEY, 'db': s.DATABASES['default'], 'hsts': s.SECURE_HSTS_SECONDS, "
            "'secure_cookie': s.SESSION_COOKIE_SECURE, 'lang': s.LANGUAGE_CODE, 'tz': s.TIME_ZONE}, default=str))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAMORU_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "MAMORU_DATA_DIR": str(tmp_path), **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_defaults_are_secure_and_japanese(tmp_path):
    s = settings_in(tmp_path)
    assert s["debug"] is False
    assert s["hosts"] == ["127.0.0.1", "localhost"]
    assert s["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["db"]["NAME"] == str(tmp_path / "mamoru.sqlite3")
    assert (s["lang"], s["tz"]) == ("ja", "Asia/Tokyo")
    assert s["hsts"] == 0 and s["secure_cookie"] is False


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = settings_in(tmp_path)["key"]
    second = settings_in(tmp_path)["key"]
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides(tmp_path):
    s = settings_in(tmp_path, MAMORU_SECRET_KEY="k" * 60, MAMORU_DEBUG="1", MAMORU_ALLOWED_HOSTS="a.lg.jp, b.lg.jp",
                    MAMORU_DATABASE_URL="postgres://u:p@db.example.lg.jp:5433/mamoru", MAMORU_HTTPS="1")
    assert s["key"] == "k" * 60 and s["debug"] is True and s["hosts"] == ["a.lg.jp", "b.lg.jp"]
    assert s["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (s["db"]["HOST"], s["db"]["PORT"], s["db"]["NAME"]) == ("db.example.lg.jp", 5433, "mamoru")
    assert s["hsts"] == 31536000 and s["secure_cookie"] is True


def test_cli_help_and_unknown_command():
    assert "mamoru init" in subprocess.run([MAMORU, "--help"], capture_output=True, text=True).stdout
    bad = subprocess.run([MAMORU, "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command" in bad.stderr


@pytest.mark.django_db
def test_init_demo_loads_every_role_once():
    out = io.StringIO()
    call_command("init", "--demo", "--no-migrate", stdout=out)
    assert "ciso" in out.getvalue() and "mamoru-demo-2026" in out.getvalue()
    held = set(RoleAssignment.objects.values_list("role__code", flat=True))
    assert held == set(Role.objects.values_list("code", flat=True)) and len(held) == 10
    assert OrgUnit.objects.filter(kind="department").count() >= 10
    assert OrgUnit.objects.filter(kind="section").count() >= 28
    assert Person.objects.count() >= 50
    again = io.StringIO()
    call_command("init", "--demo", "--no-migrate", stdout=again)
    assert "already present" in again.getvalue()
    assert Person.objects.count() == Person.objects.values("user").distinct().count()
