"""Checklists generated from the requirement catalogue; a campaign copies them and assigns people."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from mamoru.inspection import services
from mamoru.inspection.models import ChecklistTemplate, TemplateQuestion
from tests.inspection.factories import campaign_for, city_policy

pytestmark = pytest.mark.django_db

world_setup = city_policy  # once per module (tests/conftest.py)


def _catalogue_counts() -> dict[str, int]:
    from mamoru.policy.content.loader import load_catalogue

    counts: dict[str, int] = {}
    for chapter in load_catalogue().chapters:
        for section in chapter.sections:
            for r in section.requirements:
                for audience in r.audience:
                    counts[audience] = counts.get(audience, 0) + 1
    return counts


def test_one_checklist_per_audience_asks_every_requirement_of_that_audience(world):
    city_policy(world)
    result = services.templates_generate(municipality=world.units["city"])
    assert result.templates == 3
    got = {t.audience: t.questions.count() for t in ChecklistTemplate.objects.filter(municipality=world.units["city"])}
    assert got == _catalogue_counts()
    question = TemplateQuestion.objects.get(template__audience="all_staff", requirement="5.1-01")
    assert question.chapter == "5" and question.chapter_heading == "人的セキュリティ"
    assert question.text and question.evidence_hint


def test_generating_again_keeps_edited_questions_and_adds_nothing_twice(world):
    city_policy(world)
    services.templates_generate(municipality=world.units["city"])
    question = TemplateQuestion.objects.get(template__audience="all_staff", requirement="5.1-01")
    services.template_question_save(question=question, text="離席時に画面をロックしていますか。")
    again = services.templates_generate(municipality=world.units["city"])
    assert (again.templates, again.added) == (0, 0)
    question.refresh_from_db()
    assert question.text == "離席時に画面をロックしていますか。"


def test_a_city_without_published_standards_is_told_so(world):
    with pytest.raises(ValidationError, match="no published standards"):
        services.templates_generate(municipality=world.units["other_city"])


def test_a_campaign_assigns_staff_and_the_holders_of_each_role(world):
    campaign = campaign_for(world)
    got = {(a.person.user.username, a.audience, a.org_unit.code, a.department.code)
           for a in campaign.assignments.select_related("person__user", "org_unit", "department")}
    assert ("staff_a", "all_staff", "sec-a", "dept-a") in got
    assert ("staff_b", "all_staff", "sec-b", "dept-b") in got
    assert ("manager_a", "security_manager", "sec-a", "dept-a") in got
    assert ("sysadmin_a", "system_admin", "sec-a", "dept-a") in got
    people = {u for u, *_ in got}
    assert "contractor" not in people and "auditor" not in people  # not staff: not asked as 職員
    assert "other_ciso" not in people  # another city
    staff_a = campaign.assignments.get(person=world.people["staff_a"])
    assert staff_a.total == campaign.questions.filter(audience="all_staff").count() == _catalogue_counts()["all_staff"]


def test_a_campaign_for_chosen_sections_assigns_only_their_people(world):
    campaign = campaign_for(world, sections=[world.units["sec_b"]])
    assert set(campaign.assignments.values_list("person__user__username", flat=True)) == {"staff_b"}


def test_a_running_campaign_keeps_its_questions_when_the_template_changes(world):
    campaign = campaign_for(world)
    question = TemplateQuestion.objects.get(template__audience="all_staff", requirement="5.1-01")
    before = campaign.questions.get(audience="all_staff", requirement="5.1-01").text
    services.template_question_save(question=question, text="changed")
    assert campaign.questions.get(audience="all_staff", requirement="5.1-01").text == before != "changed"


def test_one_campaign_per_fiscal_year_and_its_dates_inside_that_year(world):
    campaign = campaign_for(world, fiscal_year=2025, starts_on=dt.date(2025, 6, 1))
    with pytest.raises(ValidationError) as err:
        services.campaign_start(municipality=world.units["city"], fiscal_year=2025, title="again",
                                starts_on=dt.date(2026, 4, 2), due_on=dt.date(2026, 3, 1),
                                audiences=["all_staff"])
    messages = err.value.message_dict
    assert "FY2025 already has a self-inspection campaign." in messages["fiscal_year"]
    assert any("outside FY2025" in m for m in messages["starts_on"])
    assert "The due date is before the start date." in messages["due_on"]
    assert campaign.assignments.exists()


def test_the_campaign_form_shows_what_is_wrong(world, login_as):
    campaign_for(world, fiscal_year=2025, starts_on=dt.date(2025, 6, 1))
    client = login_as("ciso")
    response = client.post("/inspection/campaigns/new/", {
        "fiscal_year": 2025, "title": "二回目", "starts_on": "2025-07-01", "due_on": "2025-08-01",
        "remind_every_days": 7, "audiences": ["all_staff"]})
    assert response.status_code == 200
    assert "FY2025 already has a self-inspection campaign." in response.content.decode()


def test_starting_a_campaign_in_the_browser_form_assigns_and_records_it(world, login_as):
    from mamoru.core.models import AuditEntry

    city_policy(world)
    client = login_as("ciso")
    assert client.post("/inspection/templates/generate/").status_code == 302
    today = dt.date.today()
    response = client.post("/inspection/campaigns/new/", {
        "fiscal_year": services.fiscal_year_of(today), "title": "今年度の自己点検", "starts_on": today.isoformat(),
        "due_on": (today + dt.timedelta(days=20)).isoformat(), "remind_every_days": 7,
        "audiences": ["all_staff", "security_manager"], "sections": [world.units["sec_a"].pk]}, follow=True)
    assert "The campaign was started: 6 checklists assigned." in response.content.decode()
    entry = AuditEntry.objects.filter(event="inspection_assigned").get()
    assert entry.changes["assignments"] == 6 and entry.actor == "ciso"
