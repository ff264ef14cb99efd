"""Audit: 3-year plan → yearly plan → engagement with independent auditors → fieldwork notes → findings →
corrective actions followed up to closure; overdue actions and other lapses become findings (INSP-…)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mamoru.compliance.registry import CheckContext, get_checks
from mamoru.inspection import services
from mamoru.inspection.choices import PlanKind
from mamoru.inspection.models import CorrectiveAction
from tests.inspection.factories import assignment_of, audit_for, campaign_for, city_policy

pytestmark = pytest.mark.django_db

world_setup = city_policy  # once per module (tests/conftest.py)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _year() -> int:
    return services.fiscal_year_of(timezone.localdate())


def test_plans_cover_three_years_and_a_yearly_plan_one_of_them(world):
    city = world.units["city"]
    medium = services.plan_create(municipality=city, kind=PlanKind.MEDIUM_TERM, first_year=2026, title="中期")
    assert (medium.first_year, medium.last_year) == (2026, 2028)
    with pytest.raises(ValidationError, match="A yearly plan belongs to a medium-term plan"):
        services.plan_create(municipality=city, kind=PlanKind.YEARLY, first_year=2026, title="年次")
    with pytest.raises(ValidationError, match=r"FY2029 is outside the medium-term plan \(2026–2028\)"):
        services.plan_create(municipality=city, kind=PlanKind.YEARLY, first_year=2029, title="年次", parent=medium)
    services.plan_create(municipality=city, kind=PlanKind.YEARLY, first_year=2027, title="年次", parent=medium)
    with pytest.raises(ValidationError, match="already has a plan for FY2027"):
        services.plan_create(municipality=city, kind=PlanKind.YEARLY, first_year=2027, title="again", parent=medium)


def _yearly(world):
    city = world.units["city"]
    medium = services.plan_create(municipality=city, kind=PlanKind.MEDIUM_TERM, first_year=_year(), title="中期")
    return services.plan_create(municipality=city, kind=PlanKind.YEARLY, first_year=_year(), title="年次",
                                parent=medium)


def test_an_auditor_cannot_audit_their_own_section(world, login_as):
    city_policy(world)
    yearly = _yearly(world)
    start = dt.date(_year(), 10, 1)
    with pytest.raises(ValidationError) as err:
        services.engagement_save(plan=yearly, title="課A 監査", sections=[world.units["sec_a"]],
                                 auditors=[world.people["auditor"]], starts_on=start, ends_on=start)
    assert err.value.messages == ["auditor さん belongs to 課A and cannot audit 課A: auditors must be independent "
                                  "of what they audit. Choose another auditor or change the scope."]
    # The same through the page: the form shows the reason and nothing is saved.
    response = login_as("auditor").post(f"/inspection/audit/plans/{yearly.pk}/engagements/new/", {
        "title": "部A 監査", "sections": [world.units["dept_a"].pk], "auditors": [world.people["auditor"].pk],
        "starts_on": start.isoformat(), "ends_on": start.isoformat()})
    assert response.status_code == 200
    assert "auditor さん belongs to 課A and cannot audit 部A" in response.content.decode()
    assert not yearly.engagements.exists()


def test_auditors_hold_the_role_work_inside_the_fiscal_year_and_cite_real_requirements(world):
    city_policy(world)
    yearly = _yearly(world)
    with pytest.raises(ValidationError) as err:
        services.engagement_save(plan=yearly, title="x", sections=[world.units["sec_b"]],
                                 auditors=[world.people["staff_a"]], starts_on=dt.date(_year() + 1, 5, 1),
                                 ends_on=dt.date(_year() + 1, 5, 2), requirements=["4.1-01", "9.9-99"])
    text = " ".join(err.value.messages)
    assert "staff_a さん does not hold the auditor role in this city." in text
    assert f"The fieldwork must lie within FY{_year()}" in text
    assert "Unknown requirements (not in the published standards): 9.9-99." in text


def test_an_audit_finding_runs_through_to_a_closed_corrective_action(world, login_as):
    w = audit_for(world)
    engagement, finding, action = w.engagement, w.audit_finding, w.corrective_action
    auditor, staff_b, ciso = login_as("auditor"), login_as("staff_b"), login_as("ciso")

    # The auditor takes a note and records a second finding during fieldwork.
    auditor.post(f"/inspection/audit/engagements/{engagement.pk}/notes/",
                 {"noted_on": timezone.localdate().isoformat(), "text": "保管庫を確認"})
    response = auditor.post(f"/inspection/audit/engagements/{engagement.pk}/findings/", {
        "org_unit": world.units["sec_b"].pk, "title": "鍵の管理", "severity": "high", "requirement": "4.2-01",
        "evidence": "鍵が机上にあった", "recommendation": "保管場所を定める"}, follow=True)
    assert "Finding #2 was recorded." in _messages(response)
    assert engagement.notes.get().text == "保管庫を確認"

    # staff_b, the owner, reads the finding through their action and reports it done.
    page = staff_b.get(finding.get_absolute_url()).content.decode()
    assert "媒体管理簿の不備" in page and "様式を改める" in page
    done = staff_b.post(f"/inspection/audit/actions/{action.pk}/progress/", {
        "status": "done", "progress_note": "新様式で運用開始", "completed_on": timezone.localdate().isoformat()},
        follow=True)
    assert "The progress was recorded." in _messages(done)

    # The CISO may not follow up (independence): only the engagement's auditors do.
    refused = ciso.post(f"/inspection/audit/actions/{action.pk}/follow-up/",
                        {"decision": "accept", "verification_note": "ok"}, follow=True)
    assert "Only the auditors of this engagement may do this." in _messages(refused)

    # The auditor returns it once, then accepts it: the action and the finding close.
    auditor.post(f"/inspection/audit/actions/{action.pk}/follow-up/",
                 {"decision": "return", "verification_note": "記録が1か月分しかない"})
    action.refresh_from_db()
    assert action.status == "in_progress" and action.verification_note == "記録が1か月分しかない"
    staff_b.post(f"/inspection/audit/actions/{action.pk}/progress/", {
        "status": "done", "progress_note": "3か月分の記録", "completed_on": timezone.localdate().isoformat()})
    closed = auditor.post(f"/inspection/audit/actions/{action.pk}/follow-up/",
                          {"decision": "accept", "verification_note": "是正を確認"}, follow=True)
    assert "Closed after follow-up." in _messages(closed)
    action.refresh_from_db()
    finding.refresh_from_db()
    assert action.status == "closed" and action.verified_by == world.people["auditor"]
    assert finding.status == "closed" and finding.closed_at is not None

    # The engagement cannot close while finding #2 is open; the report names both findings.
    report = auditor.post(f"/inspection/audit/engagements/{engagement.pk}/advance/", {
        "conclusion": "概ね適切", "reported_on": timezone.localdate().isoformat()}, follow=True)
    assert "The engagement is now: Reported." in _messages(report)
    blocked = auditor.post(f"/inspection/audit/engagements/{engagement.pk}/advance/", {}, follow=True)
    assert "1 findings are still open; close them through follow-up first." in _messages(blocked)
    history = login_as("ciso").get(finding.get_absolute_url()).content.decode()
    assert "Change history" in history and "是正を確認" in history


def test_the_audit_report_pdf_lists_findings_and_actions(world, login_as):
    import pypdfium2

    w = audit_for(world)
    response = login_as("ciso", language="ja").get(f"/inspection/audit/engagements/{w.engagement.pk}/report.pdf")
    assert response.status_code == 200
    pdf = pypdfium2.PdfDocument(response.content)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "")
    assert "課B 監査" in text and "媒体管理簿の不備" in text and "様式を改める" in text and "課B" in text


def test_corrective_actions_are_planned_by_the_audited_side_for_its_people(world):
    w = audit_for(world)
    with pytest.raises(ValidationError, match=r"The owner must work in 課B or its department\."):
        services.action_add(finding=w.audit_finding, actor=world.user("ciso"), owner=world.people["staff_a"],
                            description="x", due_on=timezone.localdate())
    with pytest.raises(ValidationError, match=r"The due date is in the past\."):
        services.action_add(finding=w.audit_finding, actor=world.user("ciso"), owner=world.people["staff_b"],
                            description="x", due_on=timezone.localdate() - dt.timedelta(days=1))


def _run(code: str, world, today: dt.date) -> list:
    (check,) = get_checks([code])
    return check.run(CheckContext(today=today, municipality=world.units["city"]))


def test_overdue_corrective_actions_become_findings(world):
    w = audit_for(world)
    action = w.corrective_action
    assert _run("INSP-001", world, action.due_on) == []
    late = _run("INSP-001", world, action.due_on + dt.timedelta(days=1))
    assert [f.org_unit for f in late] == [world.units["sec_b"]]
    assert f"was due on {action.due_on.isoformat()} and is not done; owner: staff_b さん." in late[0].message
    CorrectiveAction.objects.filter(pk=action.pk).update(status="done")
    assert _run("INSP-001", world, action.due_on + dt.timedelta(days=1)) == []


def test_unsubmitted_checklists_after_the_due_date_become_findings_per_section(world):
    campaign = campaign_for(world, audiences=["all_staff"])
    from tests.inspection.factories import answer_everything

    answer_everything(assignment_of(campaign, world, "staff_b"), world.user("staff_b"))
    assert _run("INSP-002", world, campaign.due_on) == []
    found = _run("INSP-002", world, campaign.due_on + dt.timedelta(days=1))
    assert [(f.org_unit.code, f.message.split(":")[0]) for f in found] == [("sec-a", "課A")]
    assert "5 self-inspection checklists" in found[0].message


def test_a_finding_without_any_action_after_30_days_becomes_a_finding(world):
    w = audit_for(world)
    CorrectiveAction.objects.all().delete()
    recorded = timezone.localtime(w.audit_finding.created_at).date()
    assert _run("INSP-003", world, recorded + dt.timedelta(days=30)) == []
    found = _run("INSP-003", world, recorded + dt.timedelta(days=31))
    assert len(found) == 1 and "課B has planned no corrective action yet." in found[0].message
