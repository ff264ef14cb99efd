"""A generation number of everything a user's access is computed from (core/access.py).

Grants, the person record and the unit subtrees are cached across requests under this number. Triggers
change it on every write to role assignments, roles, people and units, so no write path (services, bulk
loads, raw SQL, the admin shell) can leave a stale entry behind. The new number is never one used before,
not even by a transaction that was rolled back: PostgreSQL takes it from a sequence (which rollbacks do
not rewind), SQLite draws 64 random bits. So an entry cached inside a transaction that wrote and then
rolled back is never read again. The UPDATE is part of the writing transaction: a reader that sees the
new number also sees the new rows.
"""

from django.db import migrations

GENERATION = "core_access_generation"
WATCHED = ("core_roleassignment", "core_role", "core_person", "core_orgunit")


def forward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(f"CREATE SEQUENCE {GENERATION}_seq")
        run(f"CREATE TABLE {GENERATION} (id integer PRIMARY KEY, value bigint NOT NULL)")
        run(f"INSERT INTO {GENERATION} VALUES (1, nextval('{GENERATION}_seq'))")
        run(f"CREATE FUNCTION {GENERATION}_raise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE {GENERATION} SET value = nextval('{GENERATION}_seq') WHERE id = 1; RETURN NULL; END $$")
        for table in WATCHED:
            run(f"CREATE TRIGGER {table}_access AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {GENERATION}_raise()")
    elif schema_editor.connection.vendor == "sqlite":
        run(f"CREATE TABLE {GENERATION} (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        run(f"INSERT INTO {GENERATION} VALUES (1, random())")
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(f"CREATE TRIGGER {table}_access_{event.lower()} AFTER {event} ON {table} BEGIN "
                    f"UPDATE {GENERATION} SET value = random() WHERE id = 1; END")


def backward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in WATCHED:
            run(f"DROP TRIGGER {table}_access ON {table}")
        run(f"DROP FUNCTION {GENERATION}_raise()")
        run(f"DROP TABLE {GENERATION}")
        run(f"DROP SEQUENCE {GENERATION}_seq")
    elif schema_editor.connection.vendor == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER {table}_access_{event}")
        run(f"DROP TABLE {GENERATION}")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
