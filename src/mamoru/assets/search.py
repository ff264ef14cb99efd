"""Register search over 100,000 assets: a bigram (2-gram) index that works for Japanese on both databases.

Japanese has no spaces between words and the words people search for are often two characters (台帳, 住民),
which trigram indexes (pg_trgm, SQLite FTS5 ``trigram``) cannot use. So each asset stores, next to its
normalised ``search_text``, ``search_grams``: the distinct bigrams of every run of letters and digits in it
(a one-character run is stored as itself). The database indexes that column as words:

* SQLite: an FTS5 table ``assets_asset_grams`` with the asset table as its content, kept in step by triggers;
* PostgreSQL: a GIN index on ``to_tsvector('simple', search_grams)``.

A search term's bigrams narrow the rows through the index; ``search_text LIKE %term%`` then confirms the
exact substring, so the index never changes what is found, only how fast (docs/decisions/0006).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mamoru.assets.counts import raise_generation
from mamoru.core.text import normalize

TABLE = "assets_informationasset"
FTS_TABLE = "assets_asset_grams"
DEFERRED_FLAG = "assets_search_deferred"  # SQLite: while it holds a row, inserted rows are not indexed
PG_INDEX = "asset_search_grams_gin"
_RUN = re.compile(r"[^\W_]+")  # letters and digits (str.isalnum), what both databases' tokenizers keep together


def _bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def grams(normalized_text: str) -> str:
    """The index words of an already normalised text: distinct bigrams of each run, single characters as is."""
    seen: dict[str, None] = {}
    for run in _RUN.findall(normalized_text):
        if len(run) == 1:
            seen[run] = None
        else:
            seen.update(dict.fromkeys(map(operator.add, run[:-1], run[1:])))
    return " ".join(seen)


def term_grams(term: str) -> list[str]:
    """The bigrams every row containing ``term`` (normalised) must have. One-character runs give none:
    in the text they may sit inside a longer run, whose bigrams do not name them alone."""
    found: dict[str, None] = {}
    for run in _RUN.findall(term):
        for gram in _bigrams(run):
            found[gram] = None
    return list(found)


# A search that matches at most this many rows (after every other filter) is answered in two steps.
CANDIDATES = 2000


def _copy_rows(cursor: Any, insert_select: str, ids: list[int]) -> None:
    """``insert_select … FROM`` the asset table for these ids, 500 at a time (SQLite's parameter limit)."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        # Table and column names are constants; the ids are parameters.
        cursor.execute(f"{insert_select} FROM {TABLE} WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                       chunk)


class _Deferred:
    """What a deferred block re-indexes at its end: rows inserted after ``before`` and rows ``updating``."""

    def __init__(self, connection: Any, before: int) -> None:
        self.connection = connection
        self.before = before
        self.updated: list[int] = []

    def updating(self, ids: list[int]) -> None:
        """Call before rows' search columns are updated: their index entries are removed (with the stored
        values, as an external-content FTS5 table requires) and re-added at the end of the block."""
        if self.connection.vendor != "sqlite" or not ids:
            return
        with self.connection.cursor() as cursor:
            _copy_rows(cursor, f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, search_grams) SELECT 'delete', "
                               "id, search_grams", ids)
        self.updated.extend(ids)


@contextmanager
def deferred_index(connection: Any) -> Iterator[_Deferred]:
    """Inside a transaction: rows inserted or updated in the block are indexed in bulk at its end (SQLite).

    50,000 rows indexed by the triggers one by one took 4.5 s to insert and 12 s to update; in bulk
    statements, about one. New rows are recognised by their ids (SQLite's AUTOINCREMENT ids only grow);
    updated rows must be announced with ``updating(ids)`` before they change. Elsewhere it does nothing.
    """
    if connection.vendor != "sqlite":
        yield _Deferred(connection, 0)
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLE}")  # noqa: S608 - constant identifiers
        (before,) = cursor.fetchone()
        cursor.execute(f"INSERT INTO {DEFERRED_FLAG} (id) VALUES (1)")  # noqa: S608
    deferred = _Deferred(connection, before)
    yield deferred
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FTS_TABLE} (rowid, search_grams) "  # noqa: S608
                       f"SELECT id, search_grams FROM {TABLE} WHERE id > %s", [before])
        _copy_rows(cursor, f"INSERT INTO {FTS_TABLE} (rowid, search_grams) SELECT id, search_grams",
                   deferred.updated)
        cursor.execute(f"DELETE FROM {DEFERRED_FLAG}")  # noqa: S608
    raise_generation(connection)  # its triggers waited too (migration 0007)


def search(queryset: Any, value: str, bounded: bool = False) -> Any:
    """Rows whose search text contains every whitespace-separated term of ``value`` (width and kana folded).

    ``bounded``: for a page of results. The planners misjudge how many rows a search term leaves (PostgreSQL
    walked 72,000 rows in number order to find the one match in a section). So the matching ids are first
    read straight from the indexes, unordered, at most CANDIDATES + 1 of them; when they are that few,
    the rows are the ones with those ids, which sorts, counts and pages in a few milliseconds. More matches
    mean common words, where walking the register's order finds a page at once.
    """
    queryset = _search(queryset, value)
    if bounded and queryset.query.has_filters():
        ids = list(queryset.order_by().values_list("pk", flat=True)[:CANDIDATES + 1])
        if len(ids) <= CANDIDATES:
            return _rows_with_ids(queryset, ids)
    return queryset


def _rows_with_ids(queryset: Any, ids: list[int]) -> Any:
    """``queryset``'s rows with these ids, by id alone: the ids were just read through ``queryset``'s own
    (restricted, filtered) conditions, and repeating them let SQLite walk an index of 38,000 rows instead
    of looking up 150 ids. Related rows, loaded columns and order stay those of ``queryset``."""
    rows = queryset.model._default_manager.filter(pk__in=ids)
    rows.query.select_related = queryset.query.select_related
    rows.query.deferred_loading = queryset.query.deferred_loading
    return rows.order_by(*queryset.query.order_by) if queryset.query.order_by else rows


def _search(queryset: Any, value: str) -> Any:
    from django.db import connections
    from django.db.models import F, Func, IntegerField
    from django.db.models.expressions import RawSQL

    terms = normalize(value).split()
    vendor = connections[queryset.db].vendor
    indexed = vendor in ("sqlite", "postgresql")
    needed: dict[str, None] = {}
    for term in terms:
        found = term_grams(term) if indexed else []
        needed.update(dict.fromkeys(found))
        if len(term) == 2 and found == [term]:
            continue  # a two-character word is exactly its one bigram: the index alone answers it
        queryset = queryset.filter(search_text__contains=term)
    if not needed:
        return queryset
    if vendor == "sqlite":
        match = " ".join(f'"{gram}"' for gram in needed)  # implicit AND; grams hold letters and digits only
        # The table name is a constant; the MATCH expression is a bound parameter.
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        # "+id": the matching ids are a filter, not the plan's driver. SQLite would otherwise walk every row
        # of a common word (16,000 for 台帳) even when the user's scope or other filters hold a few hundred.
        return queryset.alias(_search_pk=Func(F("pk"), template="+%(expressions)s", output_field=IntegerField())
                              ).filter(_search_pk__in=RawSQL(sql, [match]))  # noqa: S611
    from django.contrib.postgres.search import SearchQuery, SearchVector

    return queryset.alias(_grams=SearchVector("search_grams", config="simple")).filter(
        _grams=SearchQuery(" ".join(needed), config="simple", search_type="plain"))
