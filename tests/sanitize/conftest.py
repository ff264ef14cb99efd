"""Fixtures for the sanitize engine tests: the shared mail corpus, read by path (never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything here tests the pure engine (no database): marked so the PostgreSQL pass can skip it."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.engine)


SHARED = Path(__file__).resolve().parents[2].parent / "shared"
EMAIL_CORPUS = SHARED / "corpus" / "email"


@pytest.fixture
def email_corpus() -> Path:
    if not EMAIL_CORPUS.is_dir():
        pytest.skip(f"../shared not available: {EMAIL_CORPUS} is missing, the real-world mail corpus cannot be read")
    return EMAIL_CORPUS
