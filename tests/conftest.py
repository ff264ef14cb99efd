"""Shared fixtures: the persona world, signed-in clients (MFA satisfied), API clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


_TRANSACTIONAL = frozenset({"transactional_db", "live_server", "django_db_reset_sequences",
                            "django_db_serialized_rollback"})


def _shares_a_world(module: Any, items: list[Any]) -> bool:
    """Whether every test of ``module`` uses the persona world in a rolled-back transaction (pytest-django's
    ``db``): only then may they share one made once. A test without the world expects an empty database; a
    transactional test flushes the tables (or a live server reads them from another connection); a test without
    database access may start a process that reads the database, which the module's open transaction would
    lock out. In such a module each test builds its own world, unless the module says ``world_shared = True``
    (its other tests are pure functions, or read nothing the world adds)."""
    if getattr(module, "world_shared", False):
        return True
    tests = [item for item in items if getattr(item, "module", None) is module]
    for item in tests:
        names = set(getattr(item, "fixturenames", ()))
        marker = item.get_closest_marker("django_db")
        if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
                                   or marker.kwargs.get("serialized_rollback")):
            return False
        if "world" not in names or names & _TRANSACTIONAL or (marker is None and "db" not in names):
            return False
    return bool(tests)


@contextmanager
def module_transaction(django_db_blocker: Any) -> Iterator[None]:
    """A transaction on every database, rolled back at the end, for data a module's tests share (like Django's
    ``TestCase.setUpClass``): each test then runs in a savepoint of it (pytest-django's ``db``)."""
    from unittest import mock

    from django.db import connections, transaction

    # A management command run in-process (mamoru.cli.main) closes every connection when it ends, which would end
    # the module's transaction: keep them open.
    with django_db_blocker.unblock(), mock.patch.object(connections, "close_all", lambda: None):
        blocks = [transaction.atomic(using=alias) for alias in connections]
        for block in blocks:
            block.__enter__()
        try:
            yield
        finally:
            for alias, block in zip(connections, blocks, strict=True):
                transaction.set_rollback(True, using=alias)
                block.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _world_base(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Any:
    """The persona world, built once per module inside a transaction rolled back at the module's end (like
    Django's ``TestCase.setUpTestData``); each test runs in a savepoint of it and gets its own copy of the
    objects (``world``). A module's ``world_setup(world)``, if it has one, adds the data all its tests start from.
    None where the module's tests cannot share it (see :func:`_shares_a_world`)."""
    if not _shares_a_world(request.module, request.session.items):
        yield None
        return
    with module_transaction(django_db_blocker):
        yield _built_world(request.module)


def _built_world(module: Any) -> Any:
    from tests.personas import build_world

    world = build_world()
    setup = getattr(module, "world_setup", None)
    if setup is not None:
        setup(world)
    return world


@pytest.fixture
def world(request: Any, _world_base: Any, db: Any) -> Any:
    """テスト市 and 他市 with a person per persona (tests/personas.py). What a test changes in the database is rolled
    back after it, and it works on a deep copy of the objects (as Django copies setUpTestData's)."""
    import copy

    return _built_world(request.module) if _world_base is None else copy.deepcopy(_world_base)


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
