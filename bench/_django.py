"""Shared start of every benchmark: a throwaway data directory and database, Django set up, fast hashing.

``import _django`` first thing in a benchmark script (the scripts run from bench/ as ``python bench/x.py``).
MAMORU_BENCH_DATABASE_URL points a benchmark at another (empty, throwaway) database, e.g. PostgreSQL.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DATA = tempfile.mkdtemp(prefix="mamoru-bench-")
os.environ["MAMORU_DATA_DIR"] = DATA
os.environ["MAMORU_DATABASE_URL"] = os.environ.get("MAMORU_BENCH_DATABASE_URL") or f"sqlite:///{DATA}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamoru.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def verified_client(user: object) -> object:
    """A test client with a session that has passed MFA with a confirmed TOTP device (as
    tests/conftest.signed_in_client makes one)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def count_queries(fn: object) -> int:
    """The query count of one call of ``fn``; the request handler's close_old_connections, which would drop the
    query log with the connection, is held off meanwhile."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    connection.queries_log.clear()  # a full log (9,000 entries) would make the capture read 0
    try:
        with CaptureQueriesContext(connection) as ctx:
            fn()  # type: ignore[operator]
        return len(ctx)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
