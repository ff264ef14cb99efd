"""Self-inspection dashboard for 1,500 people × 60 questions (issue: the department dashboard aggregates in ≤ 1 s).

A city of 10 departments × 6 sections, 25 people per section (1,500), a campaign of 60 questions with one
checklist per person (80 % submitted, 10 % draft, 10 % not started) and 60 answer rows on every checklist
(90,000, as the issue sizes it; the not-started ones are blank and the dashboard skips them), plus last fiscal
year's campaign of the same shape (another 90,000 rows), because the results compare with the previous year.
Data are bulk-inserted (not through the services) with a seeded random generator, so rates differ per department.

Measures, as the CISO (city-wide grant), p50 and max over N repeats (grants reloaded every time, as in a request):
``selectors.campaign_progress`` (progress per department), ``selectors.campaign_results`` (rates per
department / chapter / requirement + previous year, all evaluated) and both together (the "dashboard"); then
the results page and the campaign page (progress) rendered through the test client with an MFA-verified session.
Baseline in the same run: the cheapest count of the same campaign's answers by value (one join, no scoping).
Prints the dashboard's query count for this campaign and for a tiny one (20 people) to show it does not grow
with the data. Prints figures and ratios; asserts nothing.

    .venv/bin/python bench/bench_inspection.py                  (SQLite in a temporary directory)
    MAMORU_BENCH_DATABASE_URL=postgres://USER@/DB?host=/SOCKET/DIR .venv/bin/python bench/bench_inspection.py

With MAMORU_BENCH_DATABASE_URL the benchmark migrates and fills THAT database: give it an empty, throwaway
one. Options: MAMORU_BENCH_PEOPLE_PER_SECTION (default 25), MAMORU_BENCH_REPEATS (default 10).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from typing import Any

import _django  # noqa: F401  (data directory, database, django.setup())
from _django import count_queries, verified_client
from django.core.management import call_command
from django.db import connection

PER_SECTION = int(os.environ.get("MAMORU_BENCH_PEOPLE_PER_SECTION", "25"))
REPEATS = int(os.environ.get("MAMORU_BENCH_REPEATS", "10"))
DEPARTMENTS, SECTIONS_PER_DEPARTMENT, QUESTIONS, CHAPTERS = 10, 6, 60, 6
TARGET_S = 1.0
YEAR = 2026


def build_city(code: str, departments: int, sections: int, per_section: int) -> tuple[Any, Any]:
    """A municipality with ``departments`` × ``sections`` sections of ``per_section`` people (bulk-created)
    and a CISO with a user account and a city-wide grant. Returns the city and the CISO's user."""
    from django.contrib.auth import get_user_model

    from mamoru.core import services
    from mamoru.core.choices import UnitKind
    from mamoru.core.models import Person

    city = services.municipality_create(name=f"ベンチ市 {code}", code=code)
    people = []
    for d in range(departments):
        dept = services.orgunit_create(name=f"第{d + 1:02d}部", code=f"dept-{d}", kind=UnitKind.DEPARTMENT,
                                       parent=city)
        for s in range(sections):
            sec = services.orgunit_create(name=f"第{d + 1:02d}部 第{s + 1}課", code=f"sec-{d}-{s}",
                                          kind=UnitKind.SECTION, parent=dept)
            people += [Person(full_name=f"職員 {d}-{s}-{p}", org_unit=sec) for p in range(per_section)]
    Person.objects.bulk_create(people, batch_size=1000)
    first_section = people[0].org_unit
    ciso = services.person_create(full_name="CISO", org_unit=first_section,
                                  user=get_user_model().objects.create_user(f"bench-ciso-{code}"))
    services.role_assign(person=ciso, role="ciso", org_unit=city)
    return city, ciso.user


def build_campaign(city: Any, fiscal_year: int, questions: int, seed: int, strength: float = 0.0) -> Any:
    """One campaign over every person of ``city`` except the CISO: ``questions`` questions (chapters cycling
    1..6), assignments 80 % submitted / 10 % draft / 10 % not started, ``questions`` answer rows each.
    ``strength`` moves every department's share of "yes" (this year a little better than last)."""
    from mamoru.core.models import OrgUnit, Person
    from mamoru.inspection.choices import AnswerValue, AssignmentStatus, Audience
    from mamoru.inspection.models import Answer, Assignment, Campaign, CampaignQuestion

    rng = random.Random(seed)
    due = dt.date(fiscal_year, 6, 30)
    campaign = Campaign.objects.create(municipality=city, fiscal_year=fiscal_year, title=f"{fiscal_year}年度 自己点検",
                                       starts_on=dt.date(fiscal_year, 5, 1), due_on=due)
    qs = CampaignQuestion.objects.bulk_create([
        CampaignQuestion(campaign=campaign, audience=Audience.ALL_STAFF, order=i + 1,
                         requirement=f"C.S-{i + 1:02d}", chapter=str(i % CHAPTERS + 1),
                         chapter_heading=f"第{i % CHAPTERS + 1}章", text=f"点検項目 {i + 1} を実施していますか。")
        for i in range(questions)])
    parents = dict(OrgUnit.objects.filter(path__startswith=city.path).values_list("pk", "parent_id"))
    dept_rank = {d: i for i, d in enumerate(sorted(pk for pk, parent in parents.items() if parent == city.pk))}
    people = Person.objects.filter(org_unit__path__startswith=city.path, user__isnull=True).order_by("pk")
    assignments = []
    for pk, unit_id in people.values_list("pk", "org_unit_id"):
        roll = rng.random()
        status = (AssignmentStatus.SUBMITTED if roll < 0.8 else AssignmentStatus.DRAFT if roll < 0.9
                  else AssignmentStatus.NOT_STARTED)
        assignments.append(Assignment(
            campaign=campaign, person_id=pk, audience=Audience.ALL_STAFF, org_unit_id=unit_id,
            department_id=parents[unit_id], due_on=due, status=status, total=questions,
            answered=0 if status == AssignmentStatus.NOT_STARTED else questions))
    Assignment.objects.bulk_create(assignments, batch_size=1000)
    values = (AnswerValue.YES, AnswerValue.PARTLY, AnswerValue.NO, AnswerValue.NOT_APPLICABLE)
    answers = []
    for a in assignments:
        if a.status == AssignmentStatus.NOT_STARTED:
            answers += [Answer(assignment=a, question=q, value="") for q in qs]
            continue
        bias = strength + dept_rank[a.department_id] * 0.03  # departments differ
        weights = (0.55 + bias, 0.2, 0.2 - bias / 2, 0.05)
        answers += [Answer(assignment=a, question=q, value=v)
                    for q, v in zip(qs, rng.choices(values, weights=weights, k=len(qs)), strict=True)]
        if len(answers) >= 20000:
            Answer.objects.bulk_create(answers, batch_size=2000)
            answers = []
    Answer.objects.bulk_create(answers, batch_size=2000)
    return campaign


def timed(fn, n: int) -> tuple[float, float]:
    """p50 and max in ms over ``n`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), max(times)


def dashboard_fns(user: Any, campaign: Any) -> dict[str, Any]:
    """Each call starts as a new request would: what access cached on the user object is forgotten."""
    from mamoru.core.access import forget
    from mamoru.inspection import selectors

    def progress() -> None:
        _ = [(p.percent, p.not_started) for p in selectors.campaign_progress(forget(user), campaign)]

    def results() -> None:
        res = selectors.campaign_results(forget(user), campaign)
        # Evaluate what the page shows: every rate and its change against the previous year.
        _ = [(r.rate, r.change) for r in (res.overall, *res.departments, *res.chapters, *res.requirements,
                                          *res.weakest)]

    def dashboard() -> None:
        progress()
        results()

    return {"progress": progress, "results": results, "dashboard": dashboard}


def main() -> None:
    with open(os.devnull, "w") as sink:
        call_command("migrate", verbosity=0, stdout=sink)
    from django.db.models import Count

    from mamoru.core import services
    from mamoru.core.access import forget
    from mamoru.inspection import selectors
    from mamoru.inspection.models import Answer, Assignment

    services.roles_sync()
    t0 = time.perf_counter()
    city, ciso = build_city("bench-city", DEPARTMENTS, SECTIONS_PER_DEPARTMENT, PER_SECTION)
    build_campaign(city, YEAR - 1, QUESTIONS, seed=1, strength=-0.05)
    campaign = build_campaign(city, YEAR, QUESTIONS, seed=2)
    tiny_city, tiny_ciso = build_city("tiny-city", 2, 2, 5)
    build_campaign(tiny_city, YEAR - 1, 12, seed=3, strength=-0.05)
    tiny = build_campaign(tiny_city, YEAR, 12, seed=4)
    people = Assignment.objects.filter(campaign=campaign).count()
    answers = Answer.objects.filter(assignment__campaign=campaign).count()
    print(f"database: {connection.vendor}; {people:,} people × {QUESTIONS} questions = {answers:,} answers this year, "
          f"{Answer.objects.count():,} answer rows in all (previous year + tiny city); "
          f"built in {time.perf_counter() - t0:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps a live database in
            cur.execute("CHECKPOINT")

    fns = dashboard_fns(ciso, campaign)
    figures = {name: timed(fn, REPEATS) for name, fn in fns.items()}

    def baseline() -> None:
        list(Answer.objects.filter(assignment__campaign=campaign).order_by().values("value").annotate(n=Count("id")))

    b50, bmax = timed(baseline, REPEATS)
    print(f"baseline  answers of the campaign counted by value (one join, unscoped): "
          f"p50 {b50:8.1f} ms  max {bmax:8.1f} ms")
    for name, (p50, pmax) in figures.items():
        print(f"{name:9s} as the CISO: p50 {p50:8.1f} ms  max {pmax:8.1f} ms | ratio {name}/baseline {p50 / b50:5.1f}x")

    res = selectors.campaign_results(forget(ciso), campaign)
    spread = sorted(r.rate for r in res.departments if r.rate is not None)
    print(f"          (results: {len(res.departments)} departments, rates {spread[0]}–{spread[-1]} %; "
          f"{len(res.chapters)} chapters; {len(res.requirements)} requirements; overall {res.overall.rate} % "
          f"vs {res.overall.previous} % last year)")

    tiny_fns = dashboard_fns(tiny_ciso, tiny)
    tiny_fns["dashboard"]()  # warm, as the big one is: its CISO's grants reach the cache (core/access.py)
    big_q = count_queries(fns["dashboard"])
    tiny_q = count_queries(tiny_fns["dashboard"])
    tiny_answers = Answer.objects.filter(assignment__campaign=tiny).count()
    print(f"dashboard queries: {big_q} for {answers:,} answers; {tiny_q} for a tiny campaign "
          f"({tiny.assignments.count()} people × 12 questions = {tiny_answers} answers)")

    client = verified_client(ciso)
    for label, url in (("results page", f"/inspection/campaigns/{campaign.pk}/results/"),
                       ("campaign page (progress)", f"/inspection/campaigns/{campaign.pk}/")):
        status = client.get(url).status_code

        def page(url: str = url) -> None:
            client.get(url)

        p50, pmax = timed(page, REPEATS)
        queries = count_queries(page)
        print(f"{label:24s} (HTTP {status}): p50 {p50:8.1f} ms  max {pmax:8.1f} ms  {queries:2d} queries "
              f"| ratio page/baseline {p50 / b50:5.1f}x")

    d50 = figures["dashboard"][0]
    verdict = "met" if d50 <= TARGET_S * 1e3 else "NOT met"
    print(f"target (issue): dashboard (progress + results) <= {TARGET_S:.0f} s: p50 {d50 / 1e3:.3f} s — {verdict}; "
          f"{REPEATS} repeats each")


if __name__ == "__main__":
    main()
