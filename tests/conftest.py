"""Shared fixtures: the persona world, signed-in clients (MFA satisfied), API clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 stays the production hasher (tests/core/test_passwords.py checks it); other tests use MD5 for speed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Cached counts are keyed by the register's generation, which every test's rollback sets back.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world(db: Any) -> Any:
    from tests.personas import build_world

    return build_world()


def signed_in_client(user: Any, *, verified: bool = True) -> Client:
    """A client with a session for ``user``; ``verified`` marks the session as having passed MFA."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    if verified:
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
        session = client.session
        from django_otp import DEVICE_ID_SESSION_KEY

        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def login_as(world: Any) -> Any:
    def _login(persona: str, *, verified: bool = True) -> Client:
        return signed_in_client(world.user(persona), verified=verified)

    return _login


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """On CI (MAMORU_REQUIRE_ALL=1, set by .ci/run) a skipped test is a failure: nothing may be skipped there."""
    import os

    if not os.environ.get("MAMORU_REQUIRE_ALL") or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"MAMORU_REQUIRE_ALL: {len(skipped)} test(s) skipped; CI must run everything", red=True)
        session.exitstatus = 1
