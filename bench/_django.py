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
