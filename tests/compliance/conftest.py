"""Helpers for the compliance tests: a scratch registry and quick access to findings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mamoru.compliance import registry


@pytest.fixture
def scratch_registry() -> Iterator[dict[str, Any]]:
    """The real registry; checks a test registers are removed afterwards."""
    saved = dict(registry.REGISTRY)
    yield registry.REGISTRY
    registry.REGISTRY.clear()
    registry.REGISTRY.update(saved)


def subjects(code: str, **filters: Any) -> set[str]:
    """object_repr of the findings of ``code`` (optionally filtered), e.g. {"課A2", "課B"}."""
    from mamoru.compliance.models import Finding

    return set(Finding.objects.filter(code=code, **filters).values_list("object_repr", flat=True))


def give_mfa_device(user: Any) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
