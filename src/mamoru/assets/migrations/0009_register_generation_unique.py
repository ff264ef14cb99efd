"""The register generation (0007) takes a number never used before, instead of adding one.

Adding one came back to the same number after a rollback: a count cached by a transaction that wrote and
then rolled back could be served again once another write raised the number to the same value. Now
PostgreSQL takes the number from a sequence (which rollbacks do not rewind) and SQLite draws 64 random
bits, as the access generation does (core 0002).
"""

from django.db import migrations

GENERATION = "assets_register_generation"
FLAG = "assets_search_deferred"
WATCHED = ("assets_informationasset", "core_orgunit", "core_person", "core_roleassignment")


def _sqlite_triggers(run, value):
    for table in WATCHED:
        guard = f" WHEN NOT EXISTS (SELECT 1 FROM {FLAG})" if table == WATCHED[0] else ""
        for event in ("INSERT", "UPDATE", "DELETE"):
            run(f"DROP TRIGGER {table}_generation_{event.lower()}")
            run(f"CREATE TRIGGER {table}_generation_{event.lower()} AFTER {event} ON {table}{guard} BEGIN "
                f"UPDATE {GENERATION} SET value = {value} WHERE id = 1; END")


def _postgresql_function(run, value):
    run(f"CREATE OR REPLACE FUNCTION {GENERATION}_raise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE {GENERATION} SET value = {value} WHERE id = 1; RETURN NULL; END $$")


def forward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(f"CREATE SEQUENCE {GENERATION}_seq")
        # Numbers above every one used so far, so none comes back (counts may still be cached under them).
        run(f"SELECT setval('{GENERATION}_seq', GREATEST(value, 1)) FROM {GENERATION} WHERE id = 1")
        _postgresql_function(run, f"nextval('{GENERATION}_seq')")
        run(f"UPDATE {GENERATION} SET value = nextval('{GENERATION}_seq') WHERE id = 1")
    elif schema_editor.connection.vendor == "sqlite":
        _sqlite_triggers(run, "random()")


def backward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_function(run, "value + 1")
        run(f"DROP SEQUENCE {GENERATION}_seq")
    elif schema_editor.connection.vendor == "sqlite":
        _sqlite_triggers(run, "value + 1")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0008_search_vector"),
    ]

    operations = [migrations.RunPython(forward, backward)]
