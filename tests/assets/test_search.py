"""Register search: the bigram index (FTS5 on SQLite, GIN on PostgreSQL) finds exactly what a substring
search over the normalised text finds, stays in step with every way rows change, and keeps pages cheap."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mamoru.assets import search, services
from mamoru.assets.filtersets import InformationAssetFilterSet
from mamoru.assets.models import InformationAsset
from mamoru.assets.search import grams, term_grams
from mamoru.core.context import acting_as
from mamoru.core.text import normalize

pytestmark = pytest.mark.django_db

NAMES = [
    "住民基本台帳", "住民記録システム操作手順書", "固定資産税台帳（紙）", "ネットワーク構成図 v2", "ＬＧＷＡＮ端末一覧",
    "窓口申請書(紙)", "A-1 予備", "税", "台", "ｶﾞｲﾄﾞﾗｲﾝ", "がいどらいん改訂版", "個人情報取扱台帳", "帳台",
    "バックアップ媒体 2024", "職員名簿・連絡先", "e-Tax 連携手順", "人事給与システム",
]
QUERIES = [
    "台帳", "住民", "住民基本", "台", "帳台", "紙", "(紙)", "ガイド", "ｶﾞｲﾄﾞ", "がいど", "lgwan", "ＬＧＷＡＮ端末",
    "v2", "2024", "a-1", "A-", "-", "e-tax", "tax 連携", "台帳 住民", "システム 手順", "名簿・連絡", "存在しない語",
    "基本台帳", "税台", "人事 給与", "給与システム",
]


def world_setup(world: Any) -> None:
    # Made once per module, each test works in a savepoint of it (tests/conftest.py).
    with acting_as(label="test"):
        services.scheme_presets_load(world.units["city"])
        for i, name in enumerate(NAMES):
            services.asset_create(org_unit=world.units["sec_a" if i % 2 else "sec_b"], name=name,
                                  description=f"説明{i}" if i % 3 else "")


world_shared = True  # the tests without the world are pure functions or read only the schema

@pytest.fixture
def corpus(world: Any) -> Any:
    return world


def expected(query: str) -> set[str]:
    terms = normalize(query).split()
    return {a.name for a in InformationAsset.objects.all() if all(t in a.search_text for t in terms)}


def found(query: str, bounded: bool = False) -> set[str]:
    return set(search.search(InformationAsset.objects.all(), query, bounded=bounded).values_list("name", flat=True))


def test_grams_are_bigrams_of_letter_and_digit_runs():
    assert grams(normalize("窓口申請書(紙) A-1")) == "窓口 口申 申請 請書 紙 a 1"
    assert term_grams(normalize("ＬＧＷＡＮ")) == ["lg", "gw", "wa", "an"]
    assert term_grams("台") == [] and term_grams("a-1") == []


@pytest.mark.parametrize("query", QUERIES)
def test_index_finds_exactly_what_a_substring_search_finds(corpus, query):
    assert found(query) == expected(query)
    assert found(query, bounded=True) == expected(query)


def test_many_matches_take_the_unbounded_path_with_the_same_result(corpus, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 1)
    for query in ("台帳", "住民", "システム", "紙"):
        assert found(query, bounded=True) == expected(query)


def test_index_follows_edits_deletes_and_bulk_updates(corpus):
    asset = InformationAsset.objects.get(name="住民基本台帳")
    with acting_as(label="test"):
        services.asset_update(asset=asset, name="住基ネット端末")
    assert found("基本台帳") == set() and found("住基ネット") == {"住基ネット端末"}
    rows = list(InformationAsset.objects.filter(name__in=["税", "台"]))
    for row in rows:
        row.name = f"{row.name}務課の書類"
        row.refresh_search()
    InformationAsset.objects.bulk_update(rows, ["name", *InformationAsset.SEARCH_FIELDS])
    assert found("務課") == {"税務課の書類", "台務課の書類"}
    InformationAsset.objects.filter(name="税務課の書類").delete()
    assert found("務課") == {"台務課の書類"}


def test_searched_page_is_scoped_and_keeps_its_order_and_columns(corpus, login_as):
    response = login_as("manager_a").get("/assets/?q=台帳&sort=-name")
    names = [a.name for a in response.context["page"]]
    in_sec_a = {a.name for a in InformationAsset.objects.filter(org_unit=corpus.units["sec_a"])}
    assert set(names) == expected("台帳") & in_sec_a and names == sorted(names, reverse=True)
    assert response.context["page"].paginator.count == len(names)


def test_a_search_without_hits_shows_an_empty_register_page(corpus, login_as):
    response = login_as("manager_a").get("/assets/?q=該当なし語&tier=lgwan")
    assert response.status_code == 200
    assert list(response.context["page"]) == [] and response.context["page"].paginator.count == 0


def test_searched_page_query_count_does_not_grow_with_rows(corpus, login_as):
    client = login_as("ciso")

    def count() -> int:
        cache.clear()  # the uncached page: its row count is counted
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/assets/?q=台帳&tier=lgwan").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first page of a session saves the session (IdleSessionMiddleware); later ones do not
    few = count()
    with acting_as(label="test"):
        for i in range(30):
            services.asset_create(org_unit=corpus.units["sec_b"], name=f"追加台帳{i}")
    assert count() == few


def test_filterset_applies_search_after_the_other_filters(corpus, world):
    user = world.people["ciso"].user
    fs = InformationAssetFilterSet({"q": "台帳", "org_unit": world.units["sec_b"].pk},
                                   queryset=InformationAsset.objects.restrict(user, "view"), user=user)
    in_sec_b = {a.name for a in InformationAsset.objects.filter(org_unit=world.units["sec_b"])}
    assert {a.name for a in fs.qs} == expected("台帳") & in_sec_b


def test_imported_rows_are_indexed_and_later_inserts_still_are(corpus):
    from mamoru.assets.importer import asset_import
    from tests.assets.test_import import xlsx

    rows = [["", f"取込資産 台帳{i}", "情報", "課A", "", "LGWAN接続系", "", "", "2", "1", "1", "", ""]
            for i in range(3)]
    result = asset_import(data=xlsx(rows), filename="i.xlsx", user=corpus.user("ciso"), dry_run=False)
    assert result.committed and result.created == 3
    assert found("取込資産") == {"取込資産 台帳0", "取込資産 台帳1", "取込資産 台帳2"} == expected("取込資産")
    with acting_as(label="test"):
        services.asset_create(org_unit=corpus.units["sec_a"], name="取込後の資産")
    assert found("込後") == {"取込後の資産"}


def test_reimport_by_number_reindexes_the_updated_rows(corpus):
    from mamoru.assets.importer import asset_import
    from tests.assets.test_import import xlsx

    asset = InformationAsset.objects.get(name="住民基本台帳")
    row = [asset.number, "改名後の名簿", "情報", "課B" if asset.org_unit.name == "課B" else "課A", "", "LGWAN接続系",
           "", "", "2", "1", "1", "", ""]
    result = asset_import(data=xlsx([row]), filename="u.xlsx", user=corpus.user("ciso"), dry_run=False)
    assert result.committed and result.updated == 1
    assert found("改名後") == {"改名後の名簿"} and found("基本台帳") == set() == expected("基本台帳")
    with acting_as(label="test"):
        services.asset_update(asset=InformationAsset.objects.get(pk=asset.pk), name="もう一度改名")
    assert found("度改") == {"もう一度改名"} and found("改名後") == set()


def test_many_matches_page_counts_and_orders_like_a_substring_search(corpus, login_as, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 1)  # every search walks the register's order, and is counted
    response = login_as("ciso").get("/assets/?q=台帳&sort=-name")
    names = [a.name for a in response.context["page"]]
    assert set(names) == expected("台帳") and names == sorted(names, reverse=True)
    assert response.context["page"].paginator.count == len(expected("台帳"))


def test_search_works_inside_a_subquery(corpus):
    # A searched queryset as a subquery: Django renames its table (U0), the search condition must follow.
    inner = search.search(InformationAsset.objects.all(), "台帳 住民").values("pk")
    assert set(InformationAsset.objects.filter(pk__in=inner).values_list("name", flat=True)) == expected("台帳 住民")
    inner = search.search(InformationAsset.objects.all(), "台帳").values("pk")
    outside = InformationAsset.objects.exclude(pk__in=inner)
    assert set(outside.values_list("name", flat=True)) == set(NAMES) - expected("台帳")


def test_index_structures_exist(db):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The stored tsvector (generated by PostgreSQL) and its GIN index, with the tier where btree_gin is there.
            cursor.execute("SELECT is_generated FROM information_schema.columns "
                           "WHERE table_name = %s AND column_name = %s", [search.TABLE, search.PG_COLUMN])
            assert cursor.fetchall() == [("ALWAYS",)]
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [search.PG_INDEX])
            (definition,) = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gin'")
            columns = "(tier, search_vector)" if cursor.fetchone()[0] else "(search_vector)"
            assert definition.endswith(f"USING gin {columns}")
            cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'asset_search_grams_gin'")
            assert cursor.fetchone() == (0,)  # the expression index it replaced
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [search.FTS_TABLE])
            assert cursor.fetchone() == (1,)
