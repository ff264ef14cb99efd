"""PostgreSQL: the search words as a stored tsvector column, indexed together with the tier (docs/decisions/0006).

0004 indexed the expression ``to_tsvector('simple', search_grams)``. A plan that walks the register in number
order and checks the search on each row (a common word such as 台帳) recomputed that expression on every row
it passed: 12 ms for the first page of 台帳, 195 ms for its 21st. The column ``search_vector`` stores it.
PostgreSQL generates it, so every write path (ORM, bulk updates, imports, raw SQL) keeps it in step; it is
not a model field, so Django never reads or writes it (assets/search.py names it in its filter).

The GIN index on it also holds the tier, through ``btree_gin`` (a trusted extension shipped with PostgreSQL):
a search within a tier (the LGWAN tier's 台帳: 150 of 16,000 matches) is then one index scan, where ANDing a
bitmap of the tier's 38,000 rows with the word's cost 12 ms. A multicolumn GIN index serves a search without
a tier filter as well. Where the extension cannot be created (not installed, or not permitted), the index
is on the column alone: the same results, a tier-filtered search only slower.

SQLite: nothing changes (its FTS5 table, 0004).
"""

from django.db import DatabaseError, migrations, transaction

TABLE = "assets_informationasset"
COLUMN = "search_vector"
INDEX = "asset_search_vector_gin"
OLD_INDEX = "asset_search_grams_gin"


def _btree_gin(schema_editor) -> bool:
    """Whether the btree_gin extension is (now) there; a failure leaves the migration's transaction usable."""
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except DatabaseError:
        return False
    return True


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} ADD COLUMN {COLUMN} tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_grams)) STORED")
    run(f"DROP INDEX IF EXISTS {OLD_INDEX}")
    columns = f"tier, {COLUMN}" if _btree_gin(schema_editor) else COLUMN
    run(f"CREATE INDEX {INDEX} ON {TABLE} USING gin ({columns})")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"DROP INDEX IF EXISTS {INDEX}")
    run(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {COLUMN}")
    # 0004's index, as Django's GinIndex(SearchVector("search_grams", config="simple")) wrote it
    run(f"CREATE INDEX {OLD_INDEX} ON {TABLE} USING gin "
        "(to_tsvector('simple'::regconfig, COALESCE(search_grams, ''::text)))")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0007_register_generation"),
    ]

    operations = [migrations.RunPython(forward, backward)]
