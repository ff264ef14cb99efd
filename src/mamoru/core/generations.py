"""Generation numbers: single-row tables whose value database triggers change on every write to the tables
a cache depends on (the access generation, core migration 0002; the register's count generation, assets
migrations 0007 and 0009). A cache keyed by the number is never stale: a reader that sees a new number
also sees the rows written with it. A new number is one never used before, not even by a transaction that
rolled back: PostgreSQL takes it from the table's sequence (``<table>_seq``), SQLite draws 64 random bits.
Other databases keep no generations; callers then do not cache.
"""

from __future__ import annotations

from typing import Any

# The SQL expression of a new number, per database vendor ({table}: the generation table).
NEW_VALUE = {"postgresql": "nextval('{table}_seq')", "sqlite": "random()"}


def read(table: str, connection: Any) -> int | None:
    """The current number; None where the database keeps no generations."""
    if connection.vendor not in NEW_VALUE:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {table} WHERE id = 1")  # noqa: S608 - a constant identifier
        row = cursor.fetchone()
    return int(row[0]) if row else None


def advance(table: str, connection: Any) -> None:
    """Change the number by hand (e.g. after a bulk write whose triggers were deferred)."""
    value = NEW_VALUE.get(connection.vendor)
    if value is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET value = {value.format(table=table)} WHERE id = 1")  # noqa: S608
