"""Inspection tests read the pages in English (LANGUAGES offers it), so they assert the msgids; one test per page
family checks the Japanese catalogue on the same pages (test_pages.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def login_as(world: Any) -> Any:
    from tests.conftest import signed_in_client

    def _login(persona: str, *, verified: bool = True, language: str = "en") -> Any:
        client = signed_in_client(world.user(persona), verified=verified)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        return client

    return _login
