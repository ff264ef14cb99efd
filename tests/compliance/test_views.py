"""Finding pages: scoped lists and details, accepting, running the checks from the web."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mamoru.compliance import services
from mamoru.compliance.choices import FindingStatus
from mamoru.compliance.models import Finding
from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def checked(world):
    """The world after one full run of the checks (before anyone signs in: sign-in adds MFA devices)."""
    services.checks_run()
    return world


def finding(code, repr_):
    return Finding.objects.get(code=code, object_repr=repr_)


def manager_a_finding(world):
    return Finding.objects.get(code="CORE-002", object_id=str(world.people["manager_a"].pk))


def listed(response):
    return {(f.code, f.object_repr) for f in response.context["page"].object_list}


# --- list ---------------------------------------------------------------------------------------------

def test_staff_and_contractors_see_no_findings(checked, login_as):
    """Findings map out weaknesses: only roles with an oversight duty read them."""
    for persona in ("staff_b", "staff_a", "contractor"):
        response = login_as(persona).get(reverse("compliance:finding_list"))
        assert response.status_code == 200
        assert listed(response) == set(), persona


def test_department_head_sees_only_their_departments_findings(checked, login_as):
    response = login_as("dept_head_a").get(reverse("compliance:finding_list"))
    seen = listed(response)
    assert ("CORE-003", "課A2") in seen
    assert ("CORE-003", "課B") not in seen


def test_ciso_sees_the_whole_city_but_not_the_other_one(checked, login_as):
    response = login_as("ciso").get(reverse("compliance:finding_list"))
    seen = listed(response)
    assert ("CORE-003", "課A2") in seen and ("CORE-003", "課B") in seen
    assert ("CORE-003", "他市 課") not in seen
    assert all(f.org_unit.path.startswith(checked.units["city"].path) for f in response.context["page"])
    assert reverse("compliance:run_checks") in response.content.decode()  # the button


def test_list_filters(checked, login_as):
    client = login_as("ciso")
    url = reverse("compliance:finding_list")
    assert listed(client.get(url, {"code": "CORE-003", "org_unit": checked.units["dept_a"].pk})) == {
        ("CORE-003", "課A2")}
    assert {c for c, _ in listed(client.get(url, {"severity": "high"}))} == {"CORE-002"}
    assert listed(client.get(url, {"status": "accepted"})) == set()
    # A unit outside the user's scope is not even offered.
    assert listed(client.get(url, {"org_unit": checked.units["other_sec"].pk})) == listed(client.get(url))


def test_list_orders_open_findings_first_and_worst_first(checked, login_as):
    services.finding_accept(finding=finding("CORE-003", "課B"), reason="r", actor=checked.user("ciso"))
    page = list(login_as("ciso").get(reverse("compliance:finding_list")).context["page"])
    assert page[0].severity == "high" and page[-1].status == FindingStatus.ACCEPTED


def _make_findings(world, n):
    now = timezone.now()
    units = [world.units[k] for k in ("sec_a", "sec_a2", "sec_b", "dept_a")]
    Finding.objects.bulk_create(
        Finding(code="TEST-100", clause="6(1)", severity="medium", object_type="test.thing", object_id=str(i),
                object_repr=f"thing {i}", org_unit=units[i % len(units)], message=f"problem {i}",
                first_seen=now, last_seen=now) for i in range(n))


def _list_queries(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("compliance:finding_list"))
    assert response.status_code == 200
    return len(captured), len(response.context["page"])


def test_list_query_count_does_not_grow_with_rows(world, login_as, django_assert_num_queries):
    client = login_as("ciso")
    client.get(reverse("compliance:finding_list"))  # warm up (session, content types)
    _make_findings(world, 5)
    few, rows_few = _list_queries(client)
    Finding.objects.all().delete()
    _make_findings(world, 50)
    many, rows_many = _list_queries(client)
    assert (rows_few, rows_many) == (5, 50)
    assert few == many
    with django_assert_num_queries(few):
        client.get(reverse("compliance:finding_list"))
    # 7 today: session, user, OTP device, the access generation (grants and person from the cache),
    # then this page's own: units for the filter, count, one page of findings.
    assert few <= 8


# --- detail -------------------------------------------------------------------------------------------

def test_finding_outside_scope_is_404(checked, login_as):
    target = manager_a_finding(checked)
    assert target.org_unit == checked.units["sec_a"]
    assert login_as("staff_b").get(target.get_absolute_url()).status_code == 404
    assert login_as("other_ciso").get(target.get_absolute_url()).status_code == 404
    assert login_as("staff_a").get(target.get_absolute_url()).status_code == 404  # staff read no findings
    assert login_as("dept_head_a").get(target.get_absolute_url()).status_code == 200


def test_detail_shows_history_and_the_accept_form_to_approvers(checked, login_as):
    target = finding("CORE-003", "課A2")
    response = login_as("ciso").get(target.get_absolute_url())
    assert response.status_code == 200
    assert response.context["form"] is not None
    assert [e.action for e in response.context["history"]] == ["create"]
    assert reverse("compliance:finding_accept", args=[target.pk]) in response.content.decode()
    auditor = login_as("auditor").get(target.get_absolute_url())
    assert auditor.context["form"] is None and len(auditor.context["history"]) == 1


# --- accept -------------------------------------------------------------------------------------------

def test_department_head_accepts_a_finding_in_the_department(checked, login_as):
    target = finding("CORE-003", "課A2")
    url = reverse("compliance:finding_accept", args=[target.pk])
    response = login_as("dept_head_a").post(url, {"reason": "課A2 is covered by 課A's manager until April."})
    assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
    target.refresh_from_db()
    assert target.status == FindingStatus.ACCEPTED
    assert target.accepted_by == checked.user("dept_head_a") and target.accepted_at is not None
    event = AuditEntry.objects.get(event=AuditEvent.APPROVAL, object_id=str(target.pk))
    assert event.actor == "dept_head_a" and "April" in event.changes["reason"]
    history = login_as("ciso").get(target.get_absolute_url()).context["history"]
    assert {e.action for e in history} == {"create", "update", "event"}


def test_accepting_needs_a_reason(checked, login_as):
    target = finding("CORE-003", "課A2")
    response = login_as("dept_head_a").post(reverse("compliance:finding_accept", args=[target.pk]),
                                            {"reason": "   "})
    assert response.status_code == 400 and response.context["form"].errors
    target.refresh_from_db()
    assert target.status == FindingStatus.OPEN


@pytest.mark.parametrize("persona", ["staff_a", "auditor", "sysadmin_a", "dept_head_a", "other_ciso"])
def test_those_who_may_not_approve_get_404(checked, login_as, persona):
    target = finding("CORE-003", "課B")  # 部B: not the head of 部A's
    response = login_as(persona).post(reverse("compliance:finding_accept", args=[target.pk]), {"reason": "x"})
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.status == FindingStatus.OPEN


def test_nobody_accepts_a_finding_about_themselves(checked, login_as):
    target = manager_a_finding(checked)
    response = login_as("manager_a").post(reverse("compliance:finding_accept", args=[target.pk]),
                                          {"reason": "I will enrol next week."})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    target.refresh_from_db()
    assert target.status == FindingStatus.OPEN
    ok = login_as("dept_head_a").post(reverse("compliance:finding_accept", args=[target.pk]),
                                      {"reason": "Enrolment booked."})
    assert ok.status_code == 302


def test_an_accepted_finding_cannot_be_accepted_again(checked, login_as):
    target = finding("CORE-003", "課B")
    client = login_as("ciso")
    url = reverse("compliance:finding_accept", args=[target.pk])
    assert client.post(url, {"reason": "first"}).status_code == 302
    second = client.post(url, {"reason": "second"}, follow=True)  # e.g. a double click
    assert "受容できません" in second.content.decode()
    target.refresh_from_db()
    assert target.accepted_reason == "first"
    with pytest.raises(ValidationError):
        services.finding_accept(finding=target, reason="third", actor=checked.user("ciso"))


# --- run now ------------------------------------------------------------------------------------------

def test_ciso_runs_the_checks_for_their_city(world, login_as):
    response = login_as("ciso").post(reverse("compliance:run_checks"))
    assert response.status_code == 302 and response["Location"] == reverse("compliance:finding_list")
    paths = set(Finding.objects.values_list("org_unit__path", flat=True))
    assert paths and all(p.startswith(world.units["city"].path) for p in paths)
    assert AuditEntry.objects.filter(object_type="compliance.finding", actor="ciso").exists()


@pytest.mark.parametrize("persona", ["staff_a", "dept_head_a", "manager_a", "auditor", "contractor"])
def test_run_now_is_for_ciso_and_chief_only(world, login_as, persona):
    client = login_as(persona)
    assert client.post(reverse("compliance:run_checks")).status_code == 404
    assert not Finding.objects.exists()
    assert reverse("compliance:run_checks") not in client.get(reverse("compliance:finding_list")).content.decode()


def test_run_now_needs_post(world, login_as):
    assert login_as("chief").get(reverse("compliance:run_checks")).status_code == 405
