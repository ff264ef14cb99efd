"""The content-addressed quarantine store."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mamoru.relay.quarantine import QuarantineStore


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q")
    raw = "Subject: 請求書\r\n\r\n本文\r\n".encode()
    digest = store.put(raw)
    assert digest == hashlib.sha256(raw).hexdigest()
    assert store.path(digest) == tmp_path / "q" / digest[:2] / f"{digest}.eml"
    assert store.get(digest) == raw
    assert store.put(raw) == digest
    assert len(store) == 1
    assert [p.name for p in store.path(digest).parent.iterdir()] == [f"{digest}.eml"]  # no temporary files


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    with pytest.raises(KeyError):
        store.get("0" * 64)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    assert "../x" not in store
    assert store.delete("0" * 64) is False


def test_delete_and_expire_by_age(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    old, new, gone = store.put(b"old message"), store.put(b"new message"), store.put(b"deleted message")
    assert store.delete(gone) is True and gone not in store
    long_ago = time.time() - 100 * 86400
    os.utime(store.path(old), (long_ago, long_ago))
    removed = store.expire(datetime.now(UTC) - timedelta(days=90))
    assert removed == [old]
    assert old not in store and new in store


def test_storing_again_restarts_the_retention_clock(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    digest = store.put(b"seen twice")
    long_ago = time.time() - 100 * 86400
    os.utime(store.path(digest), (long_ago, long_ago))
    store.put(b"seen twice")
    assert store.expire(datetime.now(UTC) - timedelta(days=90)) == []
