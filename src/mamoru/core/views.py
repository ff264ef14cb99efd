"""Pages of the core app: home, organisation, people, role assignments, audit trail."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core import audit, selectors
from mamoru.core.access import can, get_or_404, may
from mamoru.core.choices import AuditEvent
from mamoru.core.exports import csv_safe
from mamoru.core.filtersets import AuditEntryFilterSet, PersonFilterSet
from mamoru.core.models import OrgUnit, Person, RoleAssignment

PAGE_SIZE = 50


def get_restricted(model: Any, user: Any, action: str, **lookup: Any) -> Any:
    """The object if ``user`` may ``action`` it, else 404 (an attempt on an existing object is audited)."""
    return get_or_404(model, user, action, **lookup)


def message_form_errors(request: HttpRequest, form: Any, *, labelled: bool = False) -> None:
    """Every error of a form posted from another page, as a message there (``labelled``: "field: error")."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if labelled and name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def run_step(request: HttpRequest, step: Callable[[], Any], success: Any) -> Any:
    """Run a service call for a POST-only workflow step: its result, with ``success`` as a message (a
    string, or a function of the result); on a ValidationError each reason as a message, and None."""
    try:
        result = step()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return None
    messages.success(request, success(result) if callable(success) else success)
    return result


def paginate(request: HttpRequest, qs: Any, count: Callable[[Any], int] | None = None) -> Any:
    """The requested page of ``qs``; ``count`` counts the rows instead of ``qs.count()`` (e.g. from a cache)."""
    paginator = Paginator(qs, PAGE_SIZE)
    if count is not None:
        paginator.count = count(qs)  # replaces the paginator's cached property
    return paginator.get_page(request.GET.get("page"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"counts": selectors.home_counts(request.user)})


@login_required
def orgunit_list(request: HttpRequest) -> HttpResponse:
    units = selectors.orgunit_list(request.user)
    can_add = may(request.user, "add", OrgUnit)
    return render(request, "core/orgunit_list.html", {"units": units, "can_add": can_add})


@login_required
def orgunit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_restricted(OrgUnit, request.user, "view", pk=pk)
    ctx = {
        "unit": unit,
        "ancestors": unit.ancestors(),
        "children": selectors.orgunit_list(request.user).filter(parent=unit),
        "people": selectors.person_list(request.user).filter(org_unit=unit),
        "assignments": selectors.assignment_list(request.user).filter(org_unit=unit),
        "can_change": can(request.user, "change", unit),
    }
    return render(request, "core/orgunit_detail.html", ctx)


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    fs = PersonFilterSet(request.GET, queryset=selectors.person_list(request.user))
    can_add = may(request.user, "add", Person)
    return render(request, "core/person_list.html",
                  {"filter": fs, "page": paginate(request, fs.qs), "can_add": can_add})


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_restricted(Person, request.user, "view", pk=pk)
    ctx = {
        "person": person,
        "assignments": selectors.assignment_list(request.user).filter(person=person),
        "history": selectors.object_history(request.user, person)[:20],
        "can_change": (can_change := can(request.user, "change", person)),
        "can_reset_mfa": person.user_id is not None and can_change,
    }
    return render(request, "core/person_detail.html", ctx)


@login_required
def assignment_list(request: HttpRequest) -> HttpResponse:
    from mamoru.core.filtersets import RoleAssignmentFilterSet

    fs = RoleAssignmentFilterSet(request.GET, queryset=selectors.assignment_list(request.user))
    can_edit = may(request.user, "change", RoleAssignment)
    return render(request, "core/assignment_list.html",
                  {"filter": fs, "page": paginate(request, fs.qs), "can_edit": can_edit})


def _require_audit_reader(user: Any) -> None:
    from mamoru.core.access import user_roles
    from mamoru.core.roles import AUDIT_READERS

    if not (user.is_superuser or user_roles(user) & AUDIT_READERS):
        raise Http404(_("Not found, or you do not have access to it."))


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    _require_audit_reader(request.user)
    fs = AuditEntryFilterSet(request.GET, queryset=selectors.audit_entries(request.user))
    return render(request, "core/audit_list.html", {"filter": fs, "page": paginate(request, fs.qs)})


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    _require_audit_reader(request.user)
    fs = AuditEntryFilterSet(request.GET, queryset=selectors.audit_entries(request.user, "export"))
    audit.event(AuditEvent.EXPORT, object_type="core.auditentry", object_repr=_("Audit trail (CSV)"),
                details={"filters": {k: v for k, v in request.GET.items() if v}})
    writer = csv.writer(_Echo())
    header = [_("sequence"), _("time"), _("actor"), _("source address"), _("action"), _("event"),
              _("object type"), _("object id"), _("object"), _("changes"), "hash"]

    def rows() -> Any:
        yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens UTF-8 correctly
        for e in fs.qs.order_by("seq").iterator(chunk_size=2000):
            yield writer.writerow([csv_safe(v) for v in (
                e.seq, timezone.localtime(e.timestamp).isoformat(), e.actor, e.source_ip or "", e.action,
                e.event, e.object_type, e.object_id, e.object_repr, e.changes, e.hash)])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
