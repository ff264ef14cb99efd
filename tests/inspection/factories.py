"""Self-inspection and audit data on the shared persona world (tests/personas.py), used by the inspection tests
and the authorization matrix.

テスト市 gets its default policy (the standards are the checklists' source), the three checklists, this fiscal
year's campaign over its sections (課A, 課A2, 課B), and an audit: a medium-term and a yearly plan, one engagement
of 課B by the auditor persona (who works in 課A: independent of 課B), one finding on 課B and its corrective action
owned by staff_b.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from mamoru.core.context import acting_as
from mamoru.inspection import services
from mamoru.inspection.choices import Audience, PlanKind
from mamoru.inspection.models import Assignment, Campaign

# The smallest file that passes the evidence check as a PDF.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def city_policy(world: Any) -> None:
    from mamoru.policy.defaults import default_documents_load
    from mamoru.policy.models import PolicyDocument

    if not PolicyDocument.objects.filter(municipality=world.units["city"], slug="standards").exists():
        with acting_as(label="tests"):
            default_documents_load(world.units["city"])


def city_checklists(world: Any) -> None:
    """テスト市's policy and its three checklists (a test module's ``world_setup``: tests/conftest.py)."""
    city_policy(world)
    with acting_as(user=world.user("ciso")):
        services.templates_generate(municipality=world.units["city"])


def campaign_for(world: Any, *, fiscal_year: int | None = None, starts_on: dt.date | None = None,
                 due_on: dt.date | None = None, audiences: Any = None, sections: Any = None) -> Campaign:
    """A campaign of テスト市 (this fiscal year by default, due in 30 days), checklists generated first."""
    from mamoru.inspection.models import ChecklistTemplate

    if not ChecklistTemplate.objects.filter(municipality=world.units["city"]).exists():
        city_checklists(world)
    today = timezone.localdate()
    year = fiscal_year if fiscal_year is not None else services.fiscal_year_of(today)
    starts_on = starts_on or (today if year == services.fiscal_year_of(today) else dt.date(year, 6, 1))
    with acting_as(user=world.user("ciso")):
        return services.campaign_start(
            municipality=world.units["city"], actor=world.user("ciso"), fiscal_year=year,
            title=f"{year}年度 自己点検", starts_on=starts_on, due_on=due_on or starts_on + dt.timedelta(days=30),
            audiences=audiences or Audience.values, sections=sections)


def assignment_of(campaign: Campaign, world: Any, persona: str, audience: str = Audience.ALL_STAFF) -> Assignment:
    return campaign.assignments.get(person=world.people[persona], audience=audience)


def answer_everything(assignment: Assignment, user: Any, value: str = "yes", comment: str = "") -> Any:
    answers = {q.pk: services.AnswerInput(value=value, comment=comment)
               for q in assignment.campaign.questions.filter(audience=assignment.audience)}
    return services.answers_save(assignment=assignment, user=user, answers=answers, submit=True)


def audit_for(world: Any) -> Any:
    """Plans, one engagement of 課B in fieldwork, a finding on 課B and staff_b's corrective action."""
    city_policy(world)
    city, auditor, ciso = world.units["city"], world.user("auditor"), world.user("ciso")
    year = services.fiscal_year_of(timezone.localdate())
    with acting_as(user=auditor):
        medium = services.plan_create(municipality=city, actor=auditor, kind=PlanKind.MEDIUM_TERM,
                                      first_year=year, title="中期監査計画")
        yearly = services.plan_create(municipality=city, actor=auditor, kind=PlanKind.YEARLY, first_year=year,
                                      parent=medium, title=f"{year}年度 監査計画")
        services.plan_approve(plan=yearly, actor=ciso)
        start = max(dt.date(year, 4, 1), timezone.localdate() - dt.timedelta(days=10))
        engagement = services.engagement_save(
            plan=yearly, actor=auditor, title="課B 監査", sections=[world.units["sec_b"]],
            auditors=[world.people["auditor"]], starts_on=start, ends_on=min(start + dt.timedelta(days=20),
                                                                             dt.date(year + 1, 3, 31)))
        services.engagement_advance(engagement=engagement, actor=auditor)
        finding = services.finding_add(engagement=engagement, actor=auditor, org_unit=world.units["sec_b"],
                                       title="媒体管理簿の不備", severity="medium", requirement="",
                                       evidence="返却日の記入漏れ", recommendation="月末照合")
    with acting_as(user=ciso):
        action = services.action_add(finding=finding, actor=ciso, owner=world.people["staff_b"],
                                     description="様式を改める", due_on=timezone.localdate() + dt.timedelta(days=30))
    world.audit_medium, world.audit_yearly, world.engagement = medium, yearly, engagement
    world.audit_finding, world.corrective_action = finding, action
    return world
