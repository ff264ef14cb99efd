"""Fixtures of the API tests: token-authenticated clients for the personas."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


def bearer(raw: str, keyword: str = "Bearer") -> Client:
    """A client that sends ``Authorization: <keyword> <raw>`` with every request (no session)."""
    return Client(headers={"Authorization": f"{keyword} {raw}"})


@pytest.fixture
def token_for(world: Any) -> Any:
    """``token_for("ciso")`` → (ApiToken, clear text) of a fresh token of that persona."""
    from mamoru.core.services_tokens import token_create

    def _make(persona: str, **kwargs: Any) -> tuple[Any, str]:
        return token_create(user=world.user(persona), name=f"test {persona}", **kwargs)

    return _make


@pytest.fixture
def api_as(token_for: Any) -> Any:
    """``api_as("ciso")`` → a client authenticated by a fresh token of that persona."""

    def _client(persona: str) -> Client:
        return bearer(token_for(persona)[1])

    return _client


def all_pages(client: Client, url: str) -> list[dict[str, Any]]:
    """Every row of a paginated list endpoint."""
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, (next_url, response.status_code, response.content[:300])
        body = response.json()
        rows.extend(body["results"])
        next_url = body["next"]
    return rows
