"""The register's search index (assets/search.py, docs/decisions/0006): a bigram column, filled for existing
rows, indexed by FTS5 on SQLite (kept in step by triggers) and by a GIN index on PostgreSQL."""

from django.db import migrations, models

FTS = "assets_asset_grams"
TABLE = "assets_informationasset"
SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_grams, content='{TABLE}', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}(rowid, search_grams) VALUES (new.id, new.search_grams); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_grams) VALUES ('delete', old.id, old.search_grams); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF search_grams ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_grams) VALUES ('delete', old.id, old.search_grams); "
    f"INSERT INTO {FTS}(rowid, search_grams) VALUES (new.id, new.search_grams); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {FTS}_{t}" for t in ("ai", "ad", "au")] + [f"DROP TABLE IF EXISTS {FTS}"]


def fill_grams(apps, schema_editor):
    from mamoru.assets.search import grams

    model = apps.get_model("assets", "InformationAsset")
    batch = []
    for asset in model.objects.only("pk", "search_text").iterator(chunk_size=2000):
        asset.search_grams = grams(asset.search_text)
        batch.append(asset)
        if len(batch) >= 2000:
            model.objects.bulk_update(batch, ["search_grams"])
            batch = []
    if batch:
        model.objects.bulk_update(batch, ["search_grams"])


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        from django.contrib.postgres.indexes import GinIndex
        from django.contrib.postgres.search import SearchVector

        model = apps.get_model("assets", "InformationAsset")
        # The same expression the search filter builds, so the planner can use the index.
        schema_editor.add_index(model, GinIndex(SearchVector("search_grams", config="simple"),
                                                name="asset_search_grams_gin"))


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS asset_search_grams_gin")


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0003_number_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="informationasset",
            name="search_grams",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RemoveIndex(model_name="informationasset", name="asset_city_tier"),
        migrations.AddIndex(
            model_name="informationasset",
            index=models.Index(fields=["municipality", "tier", "number"], name="asset_city_tier_number"),
        ),
        migrations.RunPython(fill_grams, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
