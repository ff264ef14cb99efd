"""The register page's row count, cached per register generation and query.

Counting 100,000 rows took PostgreSQL 10-17 ms per page, a third of the page, to repeat a number that
changes only when the register does. The count is kept in the process's cache under the register's
generation (core/generations.py: changed by triggers on every write that can change a count, migrations
0007 and 0009) and the exact SQL of the query, which carries the user's scope and filters. A write raises
the generation in its own transaction, so a page that sees the new rows also sees the new generation and
counts afresh.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections

from mamoru.core import generations

GENERATION = "assets_register_generation"
TIMEOUT = 300  # seconds: an entry outlives no more than this (e.g. a database restored from a backup)


def generation(alias: str) -> int | None:
    """The register's generation number; None where the database keeps none."""
    return generations.read(GENERATION, connections[alias])


def cached_count(queryset: Any) -> int:
    """``queryset.count()``, from the cache when the register has not changed since it was counted."""
    alias = queryset.db
    number = generation(alias)
    if number is None:
        return int(queryset.count())
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (a search without hits: id IN ()), so no SQL
        return 0
    digest = hashlib.sha256(f"{alias}\x00{number}\x00{sql}\x00{params!r}".encode()).hexdigest()
    key = f"mamoru:assets:count:{digest}"
    count = cache.get(key)
    if count is None:
        count = int(queryset.count())
        cache.set(key, count, TIMEOUT)
    return int(count)


def raise_generation(connection: Any) -> None:
    """Raise the generation by hand: after a bulk write with the triggers deferred (assets/search.py)."""
    generations.advance(GENERATION, connection)
