"""SQLite: the update trigger also waits while a bulk write defers indexing (see 0005, assets/search.py)."""

from django.db import migrations

FTS = "assets_asset_grams"
TABLE = "assets_informationasset"
FLAG = "assets_search_deferred"
BODY = (f"INSERT INTO {FTS}({FTS}, rowid, search_grams) VALUES ('delete', old.id, old.search_grams); "
        f"INSERT INTO {FTS}(rowid, search_grams) VALUES (new.id, new.search_grams); END")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER {FTS}_au")
    schema_editor.execute(f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF search_grams ON {TABLE} "
                          f"WHEN NOT EXISTS (SELECT 1 FROM {FLAG}) BEGIN {BODY}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER {FTS}_au")
    schema_editor.execute(f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF search_grams ON {TABLE} BEGIN {BODY}")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0005_search_bulk_insert"),
    ]

    operations = [migrations.RunPython(forward, backward)]
