"""Pages of exceptions (例外措置) and document reviews (見直し).

An exception is requested by a section (in an emergency after acting, reported within 7 days), decided by
the CISO, and then closed or renewed by the section. Reviews of a document are recorded by the CISO / 統括.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamoru.core.access import can, may
from mamoru.core.views import get_restricted, message_form_errors, paginate, run_step
from mamoru.policy import services
from mamoru.policy.choices import ExceptionStatus, ReviewTrigger
from mamoru.policy.forms_exceptions import (
    ExceptionDecideForm,
    ExceptionRenewForm,
    ExceptionReportForm,
    ExceptionRequestForm,
    ReviewForm,
)
from mamoru.policy.models import PolicyDocument, PolicyException, PolicyReview

MAX_CHAIN = 50  # renewals shown before a chain is cut short


def _add_errors(form: Any, exc: ValidationError) -> None:
    """A service's errors onto the form: keyed ones on their field (or the form), the rest on the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _with_overdue(qs: QuerySet[PolicyException]) -> QuerySet[PolicyException]:
    """Annotate ``report_overdue``: an emergency whose after-the-fact report is past due."""
    overdue = Q(emergency=True, reported_at__isnull=True, report_due_on__lt=timezone.localdate())
    return qs.annotate(report_overdue=ExpressionWrapper(overdue, output_field=BooleanField()))


def _exceptions(user: Any, action: str = "view") -> QuerySet[PolicyException]:
    return _with_overdue(PolicyException.objects.restrict(user, action)).select_related(
        "org_unit", "document", "requested_by", "decided_by")


# --- exceptions -------------------------------------------------------------------------------------

@login_required
def exception_list(request: HttpRequest) -> HttpResponse:
    exceptions = _exceptions(request.user).order_by("-created_at", "-pk")
    return render(request, "policy/exception_list.html", {
        "page": paginate(request, exceptions), "can_add": may(request.user, "add", PolicyException)})


@login_required
def exception_create(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "add", PolicyException):
        raise Http404(_("Not found, or you do not have access to it."))
    form = ExceptionRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            exception = services.exception_request(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The exception was requested; the CISO will decide on it."))
            return redirect(exception)
    return render(request, "policy/exception_form.html", {"form": form})


def _chain(user: Any, exception: PolicyException) -> tuple[list[PolicyException], list[PolicyException]]:
    """The exceptions this one renews (oldest first) and the requests that renew it."""
    visible = _exceptions(user)
    earlier: list[PolicyException] = []
    seen = {exception.pk}
    parent_id = exception.renewal_of_id
    while parent_id is not None and parent_id not in seen and len(earlier) < MAX_CHAIN:
        parent = visible.filter(pk=parent_id).first()
        if parent is None:
            break
        earlier.append(parent)
        seen.add(parent.pk)
        parent_id = parent.renewal_of_id
    later = list(visible.filter(renewal_of=exception).order_by("starts_on", "pk"))
    return earlier[::-1], later


@login_required
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    exception = get_restricted(PolicyException, user, "view", pk=pk)
    exception.report_overdue = (exception.emergency and exception.reported_at is None
                                and exception.report_due_on is not None
                                and exception.report_due_on < timezone.localdate())
    can_change = can(user, "change", exception)
    can_decide = exception.status == ExceptionStatus.REQUESTED and can(user, "approve", exception)
    can_report = exception.emergency and exception.reported_at is None and can_change
    can_manage = exception.status == ExceptionStatus.APPROVED and can_change
    earlier, later = _chain(user, exception)
    return render(request, "policy/exception_detail.html", {
        "exception": exception, "earlier": earlier, "later": later,
        "decide_form": ExceptionDecideForm() if can_decide else None,
        "report_form": ExceptionReportForm() if can_report else None,
        "can_close": can_manage,
        "renew_form": ExceptionRenewForm(exception=exception) if can_manage else None,
        "renew_starts_on": exception.ends_on + dt.timedelta(days=1),
    })


@login_required
@require_POST
def exception_decide(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_restricted(PolicyException, request.user, "approve", pk=pk)
    form = ExceptionDecideForm(request.POST)
    if not form.is_valid():
        message_form_errors(request, form, labelled=True)
        return redirect(exception)
    run_step(request, lambda: services.exception_decide(exception=exception, actor=request.user,
                                                        approve=form.approve, note=form.cleaned_data["note"]),
             _("The exception was approved.") if form.approve else _("The exception was rejected."))
    return redirect(exception)


@login_required
@require_POST
def exception_report(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_restricted(PolicyException, request.user, "change", pk=pk)
    form = ExceptionReportForm(request.POST)
    if not form.is_valid():
        message_form_errors(request, form, labelled=True)
        return redirect(exception)
    run_step(request, lambda: services.exception_report(exception=exception, actor=request.user,
                                                        report=form.cleaned_data["report"]),
             _("The emergency report was recorded."))
    return redirect(exception)


@login_required
@require_POST
def exception_close(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_restricted(PolicyException, request.user, "change", pk=pk)
    run_step(request, lambda: services.exception_close(exception=exception, actor=request.user),
             _("The exception was closed."))
    return redirect(exception)


@login_required
@require_POST
def exception_renew(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_restricted(PolicyException, request.user, "change", pk=pk)
    form = ExceptionRenewForm(request.POST, exception=exception)
    if not form.is_valid():
        message_form_errors(request, form, labelled=True)
        return redirect(exception)
    run_step(request, lambda: services.exception_renew(exception=exception, actor=request.user,
                                                       ends_on=form.cleaned_data["ends_on"],
                                                       reason=form.cleaned_data["reason"]),
             lambda renewal: _("A renewal until %(date)s was requested; the CISO will decide on it.")
             % {"date": renewal.ends_on.isoformat()})
    return redirect(exception)


# --- reviews ----------------------------------------------------------------------------------------

@login_required
def review_list(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_restricted(PolicyDocument, request.user, "view", slug=slug)
    labels = dict(ReviewTrigger.choices)
    reviews = [(r, [labels.get(t, t) for t in r.triggers])
               for r in PolicyReview.objects.restrict(request.user, "view").filter(document=document)
               .select_related("reviewer").order_by("-reviewed_on", "-pk")]
    return render(request, "policy/review_list.html", {
        "document": document, "reviews": reviews, "can_add": can(request.user, "change", document)})


@login_required
def review_create(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_restricted(PolicyDocument, request.user, "change", slug=slug)
    # Opened from results (e.g. self-inspection): the trigger and a note come prefilled; people decide the rest.
    initial = {"triggers": [t for t in request.GET.getlist("trigger") if t in ReviewTrigger.values],
               "trigger_note": request.GET.get("note", "")[:2000]}
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_record(document=document, actor=request.user, **form.service_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The review was recorded."))
            return redirect(document.get_absolute_url())
    return render(request, "policy/review_form.html", {"form": form, "document": document})
