"""SQLite: let a bulk insert index its rows in one statement (assets/search.py ``deferred_index``).

The insert trigger indexed row by row: 4.5 s of a 50,000-row import. It now skips rows while the
``assets_search_deferred`` table holds a row; the importer inserts that row, writes its rows, indexes
them with one INSERT … SELECT and deletes the row again, all in its transaction, so no other connection
ever sees the flag.
"""

from django.db import migrations

FTS = "assets_asset_grams"
TABLE = "assets_informationasset"
FLAG = "assets_search_deferred"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"CREATE TABLE {FLAG} (id INTEGER PRIMARY KEY)")
    schema_editor.execute(f"DROP TRIGGER {FTS}_ai")
    schema_editor.execute(
        f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON {TABLE} WHEN NOT EXISTS (SELECT 1 FROM {FLAG}) BEGIN "
        f"INSERT INTO {FTS}(rowid, search_grams) VALUES (new.id, new.search_grams); END")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER {FTS}_ai")
    schema_editor.execute(
        f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON {TABLE} BEGIN "
        f"INSERT INTO {FTS}(rowid, search_grams) VALUES (new.id, new.search_grams); END")
    schema_editor.execute(f"DROP TABLE {FLAG}")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0004_search_grams"),
    ]

    operations = [migrations.RunPython(forward, backward)]
