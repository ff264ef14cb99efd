"""A generation number of the register, raised by every write that can change a count (assets/counts.py).

The register page caches its row count per (generation, query). Triggers keep the number, so no write
path (services, bulk updates, imports, raw SQL) can forget it: on the assets and on the tables the
scope and filters read (sections, people, role assignments). PostgreSQL raises it once per statement;
SQLite once per row, except while a bulk import defers its indexing (0005), which raises it once at
its end. The UPDATE is part of the writing transaction: readers see the new number with the new rows.
"""

from django.db import migrations

GENERATION = "assets_register_generation"
FLAG = "assets_search_deferred"
WATCHED = ("assets_informationasset", "core_orgunit", "core_person", "core_roleassignment")


def forward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(f"CREATE TABLE {GENERATION} (id integer PRIMARY KEY, value bigint NOT NULL)")
        run(f"INSERT INTO {GENERATION} VALUES (1, 1)")
        run(f"CREATE FUNCTION {GENERATION}_raise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE {GENERATION} SET value = value + 1 WHERE id = 1; RETURN NULL; END $$")
        for table in WATCHED:
            run(f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {GENERATION}_raise()")
    elif schema_editor.connection.vendor == "sqlite":
        run(f"CREATE TABLE {GENERATION} (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        run(f"INSERT INTO {GENERATION} VALUES (1, 1)")
        for table in WATCHED:
            guard = f" WHEN NOT EXISTS (SELECT 1 FROM {FLAG})" if table == WATCHED[0] else ""
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(f"CREATE TRIGGER {table}_generation_{event.lower()} AFTER {event} ON {table}{guard} BEGIN "
                    f"UPDATE {GENERATION} SET value = value + 1 WHERE id = 1; END")


def backward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in WATCHED:
            run(f"DROP TRIGGER {table}_generation ON {table}")
        run(f"DROP FUNCTION {GENERATION}_raise()")
    elif schema_editor.connection.vendor == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER {table}_generation_{event}")
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        run(f"DROP TABLE {GENERATION}")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0006_search_bulk_update"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
