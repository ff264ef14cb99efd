"""Asset register list page with 100,000 assets over 60 sections (issue 3, Speed: p50 ≤ 50 ms).

Measures the server time of the register page (in-process Django test client, signed in with an
MFA-verified session) for the first page, a filtered + searched page and, for information (not part of
the target), a page searched for a common word alone (more matches than search.CANDIDATES: the other plan),
as the CISO and as a section manager: p50 and p95 over N requests and the query count per request.
Baseline in the same run: the same restricted, filtered queryset's first page fetched straight from the
ORM as the page reads it (no template, no COUNT).
Prints figures and ratios; asserts nothing.

    .venv/bin/python bench/bench_assets_list.py                  (SQLite in a temporary directory)
    MAMORU_BENCH_DATABASE_URL=postgres://USER@/DB?host=/SOCKET/DIR .venv/bin/python bench/bench_assets_list.py

With MAMORU_BENCH_DATABASE_URL the benchmark migrates and fills THAT database: give it an empty, throwaway
one (e.g. a cluster started as scripts/test.sh does). Options: MAMORU_BENCH_ASSETS (default 100000),
MAMORU_BENCH_REQUESTS (default 30).
"""

from __future__ import annotations

import os
import statistics
import time

import _django  # noqa: F401  (data directory, database, django.setup())
from _django import count_queries, verified_client
from django.core.management import call_command
from django.db import connection
from django.test import Client

ASSETS = int(os.environ.get("MAMORU_BENCH_ASSETS", "100000"))
REQUESTS = int(os.environ.get("MAMORU_BENCH_REQUESTS", "30"))
DEPARTMENTS, SECTIONS_PER_DEPARTMENT = 6, 10
FILTERED = "?tier=lgwan&q=台帳"
SEARCHED = "?q=台帳"  # a common word alone: 16,000 matches for the CISO, 280 for the section manager


def build_city() -> tuple[object, object, object]:
    """A municipality with 6 departments × 10 sections, 3 people per section; a CISO and a section manager."""
    from django.contrib.auth import get_user_model

    from mamoru.assets.services import scheme_presets_load
    from mamoru.core import services
    from mamoru.core.choices import UnitKind

    services.roles_sync()
    user_model = get_user_model()
    city = services.municipality_create(name="ベンチ市", code="bench-city")
    first_section = None
    for d in range(DEPARTMENTS):
        dept = services.orgunit_create(name=f"第{d + 1}部", code=f"dept-{d}", kind=UnitKind.DEPARTMENT, parent=city)
        for s in range(SECTIONS_PER_DEPARTMENT):
            sec = services.orgunit_create(name=f"第{d + 1}部 第{s + 1}課", code=f"sec-{d}-{s}",
                                          kind=UnitKind.SECTION, parent=dept)
            first_section = first_section or sec
            for p in range(3):
                services.person_create(full_name=f"職員 {d}-{s}-{p}", org_unit=sec)
    ciso = services.person_create(full_name="CISO", org_unit=first_section,
                                  user=user_model.objects.create_user("bench-ciso"))
    services.role_assign(person=ciso, role="ciso", org_unit=city)
    manager = services.person_create(full_name="課長", org_unit=first_section,
                                     user=user_model.objects.create_user("bench-manager"))
    services.role_assign(person=manager, role="section_manager", org_unit=first_section)
    scheme_presets_load(city)
    return city, ciso.user, manager.user


def timed(fn, n: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over ``n`` calls, and the query count of one call."""
    fn()  # warm-up (templates, grants)
    queries = count_queries(fn)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], queries


def main() -> None:
    with open(os.devnull, "w") as sink:
        call_command("migrate", verbosity=0, stdout=sink)
    from mamoru.assets import selectors
    from mamoru.assets.filtersets import InformationAssetFilterSet
    from mamoru.assets.generate import generate_assets
    from mamoru.assets.models import InformationAsset
    from mamoru.core.access import forget

    city, ciso, manager = build_city()
    t0 = time.perf_counter()
    generate_assets(municipality=city, count=ASSETS, seed=1)
    print(f"database: {connection.vendor}; generated {ASSETS:,} assets over "
          f"{DEPARTMENTS * SECTIONS_PER_DEPARTMENT} sections in {time.perf_counter() - t0:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps a live database in
            cur.execute("CHECKPOINT")  # and the bulk load's dirty pages written out, as they are by then

    from django.http import QueryDict

    for who, user in (("CISO", ciso), ("section manager", manager)):
        client = verified_client(user)
        for label, query in (("first page", ""), (f"filtered+searched {FILTERED}", FILTERED),
                             (f"searched {SEARCHED}", SEARCHED)):
            status = client.get(f"/assets/{query}").status_code

            def page(query: str = query, client: Client = client) -> None:
                client.get(f"/assets/{query}")

            def orm(query: str = query, user: object = user) -> None:
                qs = selectors.asset_page(user)
                fs = InformationAssetFilterSet(QueryDict(query.lstrip("?")), queryset=qs, user=user)
                selectors.page_rows(fs.qs[:50])
                forget(user)

            def count(query: str = query, user: object = user) -> None:
                qs = InformationAsset.objects.restrict(user, "view")
                InformationAssetFilterSet(QueryDict(query.lstrip("?")), queryset=qs, user=user).qs.count()

            p50, p95, queries = timed(page, REQUESTS)
            b50, b95, bq = timed(orm, REQUESTS)
            c50, _c95, _cq = timed(count, max(5, REQUESTS // 3))
            print(f"{who:16s} {label:34s} page (HTTP {status}): p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                  f"{queries:2d} queries | ORM first 50 rows: p50 {b50:6.1f} ms p95 {b95:6.1f} ms ({bq} queries) "
                  f"| COUNT(*) alone p50 {c50:6.1f} ms | ratio page/ORM {p50 / b50:5.1f}x")
    print(f"target (issue 3): page p50 <= 50 ms; {REQUESTS} requests each")


if __name__ == "__main__":
    main()
