"""Fixtures for the netcheck engine tests: the shared firewall corpus, read by path (never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything here tests the pure engine (no database): marked so the PostgreSQL pass can skip it."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.engine)


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "firewall"


@pytest.fixture
def firewall_corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared not available: {CORPUS} is missing, the real-world ruleset corpus cannot be read")
    return CORPUS
