"""Pages of the compliance app: findings, accepting one, running the checks now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mamoru.compliance import selectors, services
from mamoru.compliance.choices import FindingStatus
from mamoru.compliance.filtersets import FindingFilterSet
from mamoru.compliance.forms import FindingAcceptForm
from mamoru.compliance.models import Finding
from mamoru.core.views import get_restricted, paginate


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    fs = FindingFilterSet(request.GET, queryset=selectors.finding_list(request.user), request=request)
    ctx = {"filter": fs, "page": paginate(request, fs.qs), "can_run": selectors.can_run_checks(request.user)}
    return render(request, "compliance/finding_list.html", ctx)


def _detail(request: HttpRequest, finding: Finding, form: FindingAcceptForm | None = None,
            status: int = 200) -> HttpResponse:
    can_accept = finding.status == FindingStatus.OPEN and selectors.can_approve(request.user, finding)
    ctx = {
        "finding": finding,
        "check": finding.policy_check,
        "subject": selectors.finding_subject(request.user, finding),
        "history": selectors.finding_history(request.user, finding)[:50],
        "form": (form or FindingAcceptForm()) if can_accept else None,
    }
    return render(request, "compliance/finding_detail.html", ctx, status=status)


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_restricted(Finding, request.user, "view", pk=pk))


@login_required
@require_POST
def finding_accept(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_restricted(Finding, request.user, "approve", pk=pk)
    if finding.status != FindingStatus.OPEN:  # e.g. a second click, or someone else was quicker
        messages.info(request, _("This finding is no longer open: it is %(status)s.")
                      % {"status": finding.get_status_display()})
        return redirect(finding)
    form = FindingAcceptForm(request.POST)
    if form.is_valid():
        try:
            services.finding_accept(finding=finding, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)  # a dict of field errors lands on its fields
        else:
            messages.success(request, _("The finding was accepted."))
            return redirect(finding)
    finding.refresh_from_db()
    return _detail(request, finding, form, status=400)


@login_required
@require_POST
def run_checks(request: HttpRequest) -> HttpResponse:
    if not selectors.can_run_checks(request.user):
        raise Http404(_("Not found, or you do not have access to it."))
    for municipality in selectors.run_scopes(request.user):
        result = services.checks_run(municipality=municipality)
        where = municipality.name if municipality is not None else _("all municipalities")
        messages.success(request, ngettext(
            "%(where)s: %(count)d finding reported (%(new)d new, %(resolved)d resolved).",
            "%(where)s: %(count)d findings reported (%(new)d new, %(resolved)d resolved).",
            len(result.reported)) % {"where": where, "count": len(result.reported), "new": result.created,
                                     "resolved": result.resolved})
        for error in result.errors:
            messages.error(request, _("The check %(code)s failed: %(error)s") % {"code": error.code,
                                                                                "error": error.error})
    return redirect("compliance:finding_list")
