"""Exceptions (例外措置) and document reviews (見直し): request, visibility, decision, emergency report,
close, renew; reviews recorded by the CISO / 統括."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mamoru.core.models import AuditEntry
from mamoru.policy import services
from mamoru.policy.choices import ExceptionStatus, ReviewOutcome, ReviewTrigger
from mamoru.policy.models import PolicyException, PolicyReview

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _request_data(world, unit="sec_a", **extra):
    data = {"org_unit": world.units[unit].pk, "clause": "6(3)②", "title": "USBメモリの一時利用",
            "reason": "災害時の住民データ搬送のため", "compensating_measures": "暗号化USBのみ、使用後に消去",
            "starts_on": TODAY().isoformat(), "ends_on": (TODAY() + dt.timedelta(days=90)).isoformat()}
    data.update(extra)
    return data


def _exception(world, *, unit="sec_a", emergency=False, acted_on=None, title="ファイル共有の例外", days=30):
    return services.exception_request(
        org_unit=world.units[unit], actor=world.user("manager_a"), emergency=emergency, acted_on=acted_on,
        clause="6(3)②", title=title, reason="業務上必要", compensating_measures="ログを毎日確認",
        starts_on=TODAY(), ends_on=TODAY() + dt.timedelta(days=days))


def _approved(world, **kwargs):
    return services.exception_decide(exception=_exception(world, **kwargs), actor=world.user("ciso"), approve=True)


def _url(name, exc):
    return reverse(f"policy:{name}", args=[exc.pk])


@pytest.fixture
def document(world):
    return services.document_create(municipality=world.units["city"], kind="standards", slug="standards",
                                    title="対策基準")


# --- requesting --------------------------------------------------------------------------------------

def test_manager_requests_an_exception_for_their_section(world, login_as):
    client = login_as("manager_a")
    page = client.get(reverse("policy:exception_create"))
    assert page.status_code == 200
    offered = set(page.context["form"].fields["org_unit"].queryset)
    assert world.units["sec_a"] in offered and world.units["sec_b"] not in offered
    assert 'name="org_unit"' in page.content.decode() and 'type="date"' in page.content.decode()

    response = client.post(reverse("policy:exception_create"), _request_data(world))
    exc = PolicyException.objects.get()
    assert response.status_code == 302 and response["Location"] == exc.get_absolute_url()
    assert (exc.org_unit, exc.status, exc.emergency) == (world.units["sec_a"], ExceptionStatus.REQUESTED, False)
    assert exc.requested_by == world.people["manager_a"] and exc.report_due_on is None


def test_forged_request_for_another_section_is_refused(world, login_as):
    response = login_as("manager_a").post(reverse("policy:exception_create"), _request_data(world, unit="sec_b"))
    assert response.status_code == 200
    assert "org_unit" in response.context["form"].errors
    assert not PolicyException.objects.exists()


def test_end_before_start_is_a_form_error(world, login_as):
    data = _request_data(world, ends_on=(TODAY() - dt.timedelta(days=1)).isoformat())
    response = login_as("manager_a").post(reverse("policy:exception_create"), data)
    assert response.status_code == 200 and "ends_on" in response.context["form"].errors
    assert not PolicyException.objects.exists()


@pytest.mark.parametrize("persona", ["staff_b", "contractor", "auditor"])
def test_people_who_cannot_add_get_404_on_the_request_page(world, login_as, persona):
    client = login_as(persona)
    assert client.get(reverse("policy:exception_create")).status_code == 404
    assert client.post(reverse("policy:exception_create"), _request_data(world)).status_code == 404
    assert not PolicyException.objects.exists()


def test_list_offers_the_request_link_only_to_those_who_may_add(world, login_as):
    link = reverse("policy:exception_create")
    assert link in login_as("manager_a").get(reverse("policy:exception_list")).content.decode()
    assert link not in login_as("staff_b").get(reverse("policy:exception_list")).content.decode()


# --- visibility --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "status"), [
    ("ciso", 200), ("chief", 200), ("auditor", 200), ("dept_head_a", 200), ("manager_a", 200),
    ("staff_b", 404), ("other_ciso", 404),
])
def test_who_sees_an_exception_of_section_a(world, login_as, persona, status):
    exc = _exception(world)
    client = login_as(persona)
    assert client.get(_url("exception_detail", exc)).status_code == status
    listed = list(client.get(reverse("policy:exception_list")).context["page"])
    assert (exc in listed) == (status == 200)


def test_refused_detail_is_recorded_as_access_denied(world, login_as):
    exc = _exception(world)
    assert login_as("staff_b").get(_url("exception_detail", exc)).status_code == 404
    assert AuditEntry.objects.filter(event="access_denied", object_id=str(exc.pk), actor="staff_b").exists()


def test_list_is_newest_first(world, login_as):
    first = _exception(world, title="古い例外")
    second = _exception(world, title="新しい例外")
    rows = list(login_as("ciso").get(reverse("policy:exception_list")).context["page"])
    assert rows == [second, first]


# --- decision ----------------------------------------------------------------------------------------

def test_only_the_ciso_decides(world, login_as):
    exc = _exception(world)
    decide = _url("exception_decide", exc)
    for persona in ("chief", "dept_head_a", "manager_a", "auditor"):
        client = login_as(persona)
        assert decide not in client.get(_url("exception_detail", exc)).content.decode()
        assert client.post(decide, {"decision": "approve"}).status_code == 404
    assert PolicyException.objects.get(pk=exc.pk).status == ExceptionStatus.REQUESTED

    ciso = login_as("ciso")
    assert decide in ciso.get(_url("exception_detail", exc)).content.decode()
    assert ciso.get(decide).status_code == 405  # POST only
    response = ciso.post(decide, {"decision": "approve", "note": "期間内に限り認める"})
    assert response.status_code == 302 and response["Location"] == exc.get_absolute_url()
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.APPROVED and exc.decided_by == world.people["ciso"]
    assert exc.decision_note == "期間内に限り認める" and exc.decided_at is not None
    entry = AuditEntry.objects.get(event="approval", object_id=str(exc.pk),
                                   object_type="policy.policyexception")
    assert entry.actor == "ciso" and entry.changes["operation"] == "policy exception approved"
    # decided once: the form is gone and a second decision changes nothing
    assert decide not in ciso.get(_url("exception_detail", exc)).content.decode()
    ciso.post(decide, {"decision": "reject"})
    assert PolicyException.objects.get(pk=exc.pk).status == ExceptionStatus.APPROVED


def test_ciso_rejects_and_a_bad_decision_value_changes_nothing(world, login_as):
    exc = _exception(world)
    ciso = login_as("ciso")
    assert ciso.post(_url("exception_decide", exc), {"decision": "maybe"}).status_code == 302
    assert PolicyException.objects.get(pk=exc.pk).status == ExceptionStatus.REQUESTED
    ciso.post(_url("exception_decide", exc), {"decision": "reject", "note": "代替策が不十分"})
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.REJECTED and exc.decision_note == "代替策が不十分"
    assert AuditEntry.objects.filter(event="approval", object_id=str(exc.pk),
                                     changes__operation="policy exception rejected").exists()


# --- emergency ---------------------------------------------------------------------------------------

def test_emergency_request_needs_the_date_acted_on(world, login_as):
    response = login_as("manager_a").post(reverse("policy:exception_create"), _request_data(world, emergency="on"))
    assert response.status_code == 200 and "acted_on" in response.context["form"].errors
    future = (TODAY() + dt.timedelta(days=1)).isoformat()
    response = login_as("manager_a").post(reverse("policy:exception_create"),
                                          _request_data(world, emergency="on", acted_on=future))
    assert response.status_code == 200 and "acted_on" in response.context["form"].errors
    assert not PolicyException.objects.exists()


def test_emergency_report_becomes_overdue_and_the_manager_reports_it(world, login_as):
    acted = TODAY() - dt.timedelta(days=10)
    client = login_as("manager_a")
    client.post(reverse("policy:exception_create"), _request_data(world, emergency="on", acted_on=acted.isoformat()))
    exc = PolicyException.objects.get()
    assert exc.emergency and exc.acted_on == acted and exc.report_due_on == acted + dt.timedelta(days=7)

    [row] = client.get(reverse("policy:exception_list")).context["page"]
    assert row.report_overdue is True
    detail = client.get(_url("exception_detail", exc))
    assert detail.context["exception"].report_overdue is True
    assert _url("exception_report", exc) in detail.content.decode()
    # staff of the section see it, but the report is the managers' (change permission)
    staff = login_as("staff_a")
    assert _url("exception_report", exc) not in staff.get(_url("exception_detail", exc)).content.decode()
    assert staff.post(_url("exception_report", exc), {"report": "報告"}).status_code == 404

    assert client.post(_url("exception_report", exc), {"report": "   "}).status_code == 302
    assert PolicyException.objects.get(pk=exc.pk).reported_at is None  # an empty report is refused
    assert client.post(_url("exception_report", exc), {"report": "停電のため紙で処理した"}).status_code == 302
    exc.refresh_from_db()
    assert exc.reported_at is not None and exc.report == "停電のため紙で処理した"
    assert "停電のため紙で処理した" in client.get(_url("exception_detail", exc)).content.decode()
    [row] = client.get(reverse("policy:exception_list")).context["page"]
    assert row.report_overdue is False
    assert _url("exception_report", exc) not in client.get(_url("exception_detail", exc)).content.decode()


def test_emergency_within_its_report_window_is_not_overdue(world, login_as):
    _exception(world, emergency=True, acted_on=TODAY() - dt.timedelta(days=7))  # due today
    [row] = login_as("ciso").get(reverse("policy:exception_list")).context["page"]
    assert row.report_overdue is False


def test_overdue_report_is_shown_in_english_when_the_site_is_english(world, login_as, settings):
    settings.LANGUAGE_CODE = "en"
    _exception(world, emergency=True, acted_on=TODAY() - dt.timedelta(days=30))
    body = login_as("ciso").get(reverse("policy:exception_list")).content.decode()
    assert "Emergency, report overdue" in body


# --- close and renew ---------------------------------------------------------------------------------

def test_manager_renews_an_approved_exception(world, login_as):
    exc = _approved(world)
    client = login_as("manager_a")
    detail = client.get(_url("exception_detail", exc)).content.decode()
    assert _url("exception_renew", exc) in detail and _url("exception_close", exc) in detail
    new_end = exc.ends_on + dt.timedelta(days=180)
    response = client.post(_url("exception_renew", exc), {"ends_on": new_end.isoformat(), "reason": "移行が遅延"})
    assert response.status_code == 302 and response["Location"] == exc.get_absolute_url()
    renewal = PolicyException.objects.get(renewal_of=exc)
    assert (renewal.starts_on, renewal.ends_on) == (exc.ends_on + dt.timedelta(days=1), new_end)
    assert renewal.status == ExceptionStatus.REQUESTED and renewal.reason == "移行が遅延"
    assert renewal.get_absolute_url() in client.get(_url("exception_detail", exc)).content.decode()
    assert exc.get_absolute_url() in client.get(_url("exception_detail", renewal)).content.decode()

    client.post(_url("exception_renew", exc), {"ends_on": new_end.isoformat(), "reason": "二重申請"})
    assert PolicyException.objects.filter(renewal_of=exc).count() == 1  # one renewal at a time


def test_renewal_must_end_after_the_current_end(world, login_as):
    exc = _approved(world)
    login_as("manager_a").post(_url("exception_renew", exc), {"ends_on": exc.ends_on.isoformat(), "reason": "x"})
    assert not PolicyException.objects.filter(renewal_of=exc).exists()


def test_manager_closes_an_approved_exception(world, login_as, settings):
    settings.LANGUAGE_CODE = "en"
    exc = _approved(world)
    assert login_as("staff_b").post(_url("exception_close", exc)).status_code == 404
    assert login_as("auditor").post(_url("exception_close", exc)).status_code == 404
    client = login_as("manager_a")
    assert client.get(_url("exception_close", exc)).status_code == 405
    assert client.post(_url("exception_close", exc)).status_code == 302
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.CLOSED and exc.closed_at is not None
    detail = client.get(_url("exception_detail", exc)).content.decode()
    assert _url("exception_close", exc) not in detail and _url("exception_renew", exc) not in detail
    assert "Approved by ciso さん" in detail  # the decision stays visible once closed
    client.post(_url("exception_renew", exc), {"ends_on": (exc.ends_on + dt.timedelta(days=30)).isoformat(),
                                               "reason": "x"})
    assert not PolicyException.objects.filter(renewal_of=exc).exists()


def test_a_request_cannot_be_closed_before_its_decision(world, login_as):
    exc = _exception(world)
    assert _url("exception_close", exc) not in login_as("manager_a").get(
        _url("exception_detail", exc)).content.decode()
    login_as("manager_a").post(_url("exception_close", exc))
    assert PolicyException.objects.get(pk=exc.pk).status == ExceptionStatus.REQUESTED


def test_list_query_count_does_not_grow_with_rows(world, login_as):
    client = login_as("ciso")
    client.get(reverse("policy:exception_list"))  # warm up (session, content types)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("policy:exception_list"))
        return len(captured), len(response.context["page"])

    _exception(world, title="one")
    few, n_few = queries()
    for i in range(5):
        services.exception_renew(exception=_approved(world, title=f"approved {i}"), actor=world.user("manager_a"),
                                 ends_on=TODAY() + dt.timedelta(days=365), reason="継続")
    many, n_many = queries()
    assert (n_few, n_many) == (1, 11)
    assert few == many


# --- services ----------------------------------------------------------------------------------------

def test_service_refuses_a_document_of_another_municipality(world):
    other = services.document_create(municipality=world.units["other_city"], kind="standards", slug="standards",
                                     title="他市 対策基準")
    with pytest.raises(ValidationError) as caught:
        services.exception_request(org_unit=world.units["sec_a"], actor=world.user("manager_a"), document=other,
                                   clause="1", title="t", reason="r", compensating_measures="c",
                                   starts_on=TODAY(), ends_on=TODAY())
    assert "document" in caught.value.message_dict
    assert not PolicyException.objects.exists()


def test_service_refuses_unknown_review_triggers(world, document):
    with pytest.raises(ValidationError) as caught:
        services.review_record(document=document, actor=world.user("ciso"), reviewed_on=TODAY(),
                               triggers=["yearly", "whim"], outcome=ReviewOutcome.NO_CHANGE, summary="s")
    assert "triggers" in caught.value.message_dict
    assert not PolicyReview.objects.exists()


# --- reviews -----------------------------------------------------------------------------------------

def test_ciso_records_a_review_and_it_is_listed(world, login_as, document):
    client = login_as("ciso")
    form_page = client.get(reverse("policy:review_create", args=[document.slug]))
    assert form_page.status_code == 200
    body = form_page.content.decode()
    assert 'name="triggers"' in body and 'type="checkbox"' in body and 'type="date"' in body
    response = client.post(reverse("policy:review_create", args=[document.slug]), {
        "reviewed_on": TODAY().isoformat(), "triggers": [ReviewTrigger.YEARLY, ReviewTrigger.AUDIT],
        "trigger_note": "令和6年度監査の指摘", "outcome": ReviewOutcome.REVISE,
        "summary": "クラウド利用の条項を改定する"})
    assert response.status_code == 302 and response["Location"] == document.get_absolute_url()
    review = PolicyReview.objects.get()
    assert review.triggers == ["yearly", "audit"] and review.reviewer == world.people["ciso"]
    assert review.document == document and review.outcome == ReviewOutcome.REVISE

    listing = client.get(reverse("policy:review_list", args=[document.slug]))
    assert listing.status_code == 200
    assert [r for r, _ in listing.context["reviews"]] == [review]
    assert "クラウド利用の条項を改定する" in listing.content.decode()
    auditor = login_as("auditor").get(reverse("policy:review_list", args=[document.slug]))
    assert [r for r, _ in auditor.context["reviews"]] == [review]
    assert reverse("policy:review_create", args=[document.slug]) not in auditor.content.decode()


def test_review_needs_a_trigger(world, login_as, document):
    response = login_as("chief").post(reverse("policy:review_create", args=[document.slug]), {
        "reviewed_on": TODAY().isoformat(), "outcome": ReviewOutcome.NO_CHANGE, "summary": "変更なし"})
    assert response.status_code == 200 and "triggers" in response.context["form"].errors
    assert not PolicyReview.objects.exists()


def test_only_ciso_and_chief_record_reviews(world, login_as, document):
    url = reverse("policy:review_create", args=[document.slug])
    data = {"reviewed_on": TODAY().isoformat(), "triggers": ["yearly"], "outcome": "no_change", "summary": "s"}
    for persona in ("manager_a", "dept_head_a", "auditor", "staff_b", "other_ciso"):
        client = login_as(persona)
        assert client.get(url).status_code == 404
        assert client.post(url, data).status_code == 404
    assert not PolicyReview.objects.exists()
    assert login_as("chief").get(url).status_code == 200


def test_reviews_are_not_shown_to_section_staff(world, login_as, document):
    services.review_record(document=document, actor=world.user("ciso"), reviewed_on=TODAY(), triggers=["yearly"],
                           outcome=ReviewOutcome.NO_CHANGE, summary="変更なし")
    response = login_as("manager_a").get(reverse("policy:review_list", args=[document.slug]))
    assert response.status_code == 200 and response.context["reviews"] == []
    assert login_as("other_ciso").get(reverse("policy:review_list", args=[document.slug])).status_code == 404
