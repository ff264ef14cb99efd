"""Results: compliance rates per department, chapter and requirement, the previous year beside them, scoped to
what the reader oversees; XLSX and PDF for the CISO and the committee."""

from __future__ import annotations

import io

import pytest

from mamoru.inspection import selectors, services
from tests.inspection.factories import answer_everything, assignment_of, campaign_for, city_checklists

pytestmark = pytest.mark.django_db

world_setup = city_checklists  # once per module (tests/conftest.py)


def _answer(assignment, user, values: dict[str, str], default: str = "yes"):
    answers = {}
    for q in assignment.campaign.questions.filter(audience=assignment.audience):
        value = values.get(q.requirement, default)
        answers[q.pk] = services.AnswerInput(value=value, comment="不足あり" if value in ("no", "partly") else "")
    result = services.answers_save(assignment=assignment, user=user, answers=answers, submit=True)
    assert result.problems == []


@pytest.fixture
def two_years(world):
    """Last year: 課B's staff answered everything "no"; this year "yes" except 5.1-01 (partly). staff_a answered
    "yes" both years; other checklists stay unsubmitted (they do not count)."""
    last = campaign_for(world, fiscal_year=services.fiscal_year_of(__import__("datetime").date.today()) - 1,
                        audiences=["all_staff"])
    _answer(assignment_of(last, world, "staff_b"), world.user("staff_b"), {}, default="no")
    _answer(assignment_of(last, world, "staff_a"), world.user("staff_a"), {})
    now = campaign_for(world, audiences=["all_staff"])
    _answer(assignment_of(now, world, "staff_b"), world.user("staff_b"), {"5.1-01": "partly", "5.1-02": "na"})
    _answer(assignment_of(now, world, "staff_a"), world.user("staff_a"), {})
    return last, now


def test_rates_count_partly_as_half_and_leave_not_applicable_out(world, two_years):
    last, now = two_years
    n = now.questions.count()
    results = selectors.campaign_results(world.user("ciso"), now)
    dept_b = next(r for r in results.departments if r.label == "部B")
    assert dept_b.counts == {"yes": n - 2, "partly": 1, "na": 1}
    assert dept_b.rate == round(100 * (n - 2 + 0.5) / (n - 1), 1)
    assert dept_b.previous == 0.0 and dept_b.change == dept_b.rate
    dept_a = next(r for r in results.departments if r.label == "部A")
    assert (dept_a.rate, dept_a.previous, dept_a.change) == (100.0, 100.0, 0.0)
    weakest = results.weakest[0]
    assert (weakest.key, weakest.rate) == ("5.1-01", 75.0)  # one yes, one partly
    assert results.previous == last
    chapter5 = next(r for r in results.chapters if r.key == "5")
    assert chapter5.label == "5 人的セキュリティ"


def test_unsubmitted_checklists_do_not_count(world):
    campaign = campaign_for(world, audiences=["all_staff"])
    mine = assignment_of(campaign, world, "staff_a")
    q = campaign.questions.filter(audience="all_staff").first()
    services.answers_save(assignment=mine, user=world.user("staff_a"),
                          answers={q.pk: services.AnswerInput("no", "x")})
    assert selectors.campaign_results(world.user("ciso"), campaign).overall.answered == 0


def test_each_reader_sees_the_departments_they_oversee(world, two_years, login_as):
    _last, now = two_years
    labels = {p: [r.label for r in selectors.campaign_results(world.user(p), now).departments]
              for p in ("ciso", "dept_head_a", "manager_a")}
    assert labels == {"ciso": ["部A", "部B"], "dept_head_a": ["部A"], "manager_a": ["部A"]}
    progress = selectors.campaign_progress(world.user("dept_head_a"), now)
    assert [(p.name, p.submitted) for p in progress] == [("部A", 1)]
    assert login_as("staff_a").get(f"/inspection/campaigns/{now.pk}/results/").status_code == 404


def test_the_results_page_shows_rates_the_previous_year_and_the_weakest(world, two_years, login_as):
    _last, now = two_years
    page = login_as("ciso").get(f"/inspection/campaigns/{now.pk}/results/").content.decode()
    assert "The weakest requirements" in page and "5.1-01" in page
    assert f"FY{now.fiscal_year - 1}" in page  # the previous year's column
    assert "Open a policy review with these results" in page


def test_the_query_count_of_the_dashboard_does_not_grow_with_the_campaign(world, login_as):
    campaign = campaign_for(world, audiences=["all_staff"])
    answer_everything(assignment_of(campaign, world, "staff_a"), world.user("staff_a"))
    client = login_as("ciso")
    url = f"/inspection/campaigns/{campaign.pk}/results/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for persona in ("staff_b", "manager_a", "ciso", "chief"):
        answer_everything(assignment_of(campaign, world, persona), world.user(persona))
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)
    with CaptureQueriesContext(connection) as progress_small:
        client.get(f"/inspection/campaigns/{campaign.pk}/")
    assert len(progress_small) <= 20


def test_xlsx_holds_the_progress_and_the_rates(world, two_years, login_as):
    from openpyxl import load_workbook

    _last, now = two_years
    response = login_as("ciso").get(f"/inspection/campaigns/{now.pk}/results.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Progress", "Departments", "Chapters", "Requirements"]
    departments = {row[0]: row for row in wb["Departments"].iter_rows(min_row=2, values_only=True)}
    assert departments["部A"][5] == 100.0  # rate after yes, partly, no, na
    requirements = {row[0]: row for row in wb["Requirements"].iter_rows(min_row=2, values_only=True)}
    assert requirements["5.1-01"][6] == 75.0


def test_the_pdf_report_has_the_rates_in_japanese(world, two_years, login_as):
    import pypdfium2

    _last, now = two_years
    response = login_as("ciso", language="ja").get(f"/inspection/campaigns/{now.pk}/results.pdf")
    assert response["Content-Type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(response.content)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "")
    assert "部B" in text and "5.1-01" in text and now.title in text
    from mamoru.core.models import AuditEntry

    assert AuditEntry.objects.filter(event="export", object_id=str(now.pk)).exists()
