"""The current actor and source address, set by middleware (or by a CLI command) for the audit trail."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any = None
    source_ip: str | None = None
    label: str = ""  # e.g. "cli", "system" when no user acts


current_actor: ContextVar[Actor | None] = ContextVar("mamoru_actor", default=None)


@contextlib.contextmanager
def acting_as(user: Any = None, source_ip: str | None = None, label: str = "") -> Iterator[Actor]:
    actor = Actor(user=user, source_ip=source_ip, label=label)
    token = current_actor.set(actor)
    try:
        yield actor
    finally:
        current_actor.reset(token)
