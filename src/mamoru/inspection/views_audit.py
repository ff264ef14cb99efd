"""Audit pages: plans (3-year → yearly), engagements, fieldwork notes, findings, corrective actions, report PDF."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamoru.core import audit
from mamoru.core.access import can, may, units_for
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit, Person
from mamoru.core.views import get_restricted, message_form_errors, run_step
from mamoru.inspection import forms, selectors, services
from mamoru.inspection.choices import ActionStatus, EngagementStatus, PlanKind
from mamoru.inspection.models import AuditFinding, AuditPlan, CorrectiveAction, Engagement, FieldworkNote
from mamoru.inspection.views import NOT_FOUND, add_errors, city_for


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "view", AuditPlan):
        raise Http404(NOT_FOUND)
    plans = list(selectors.plans(request.user))
    return render(request, "inspection/plan_list.html", {
        "medium": [p for p in plans if p.kind == PlanKind.MEDIUM_TERM],
        "yearly": [p for p in plans if p.kind == PlanKind.YEARLY],
        "can_add": may(request.user, "add", AuditPlan)})


@login_required
def plan_create(request: HttpRequest) -> HttpResponse:
    city = city_for(request.user, AuditPlan, "add")
    parents = AuditPlan.objects.restrict(request.user, "view").filter(municipality=city, kind=PlanKind.MEDIUM_TERM)
    form = forms.PlanForm(request.POST or None, parents=parents)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(municipality=city, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("The plan was created."))
            return redirect(plan.get_absolute_url())
    return render(request, "core/edit_form.html", {"form": form, "title": _("New audit plan")})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_restricted(AuditPlan, request.user, "view", pk=pk)
    return render(request, "inspection/plan_detail.html", {
        "plan": plan, "yearly": plan.yearly_plans.order_by("first_year"),
        "engagements": selectors.engagements(request.user).filter(plan=plan),
        "can_change": can(request.user, "change", plan),
        "can_approve": not plan.approved_on and can(request.user, "approve", plan)})


@login_required
@require_POST
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_restricted(AuditPlan, request.user, "approve", pk=pk)
    run_step(request, lambda: services.plan_approve(plan=plan, actor=request.user), _("The plan was approved."))
    return redirect(plan.get_absolute_url())


def _engagement_form(request: HttpRequest, plan: AuditPlan, engagement: Engagement | None) -> Any:
    city = plan.municipality
    from mamoru.network.models import InformationSystem

    initial = {}
    if engagement is not None:
        initial = {"title": engagement.title, "sections": list(engagement.sections.all()),
                   "requirements": " ".join(engagement.requirements), "systems": list(engagement.systems.all()),
                   "auditors": list(engagement.auditors.all()), "starts_on": engagement.starts_on,
                   "ends_on": engagement.ends_on}
    auditors = (Person.objects.filter(is_active=True, assignments__role__code="auditor",
                                      assignments__org_unit__path__startswith=city.path)
                .select_related("org_unit").distinct().order_by("full_name"))
    return forms.EngagementForm(
        request.POST or None, initial=initial,
        sections=OrgUnit.objects.filter(path__startswith=city.path, depth__gt=0).order_by("path"),
        systems=InformationSystem.objects.filter(org_unit__path__startswith=city.path).order_by("name"),
        auditors=auditors)


def _engagement_save(request: HttpRequest, plan: AuditPlan, engagement: Engagement | None) -> HttpResponse:
    form = _engagement_form(request, plan, engagement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.engagement_save(
                plan=plan, actor=request.user, engagement=engagement, title=data["title"],
                sections=list(data["sections"]), auditors=list(data["auditors"]), starts_on=data["starts_on"],
                ends_on=data["ends_on"], requirements=data["requirements"], systems=list(data["systems"]))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(saved.get_absolute_url())
    title = _("New audit engagement") if engagement is None else engagement.title
    return render(request, "core/edit_form.html", {"form": form, "title": title, "object": engagement})


@login_required
def engagement_create(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_restricted(AuditPlan, request.user, "change", pk=pk)
    return _engagement_save(request, plan, None)


@login_required
def engagement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_restricted(Engagement, request.user, "change", pk=pk)
    return _engagement_save(request, engagement.plan, engagement)


@login_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_restricted(Engagement, request.user, "view", pk=pk)
    person = services.person_of(request.user)
    is_auditor = person is not None and engagement.auditors.filter(pk=person.pk).exists()
    sections = engagement.sections.order_by("path")
    return render(request, "inspection/engagement_detail.html", {
        "engagement": engagement, "sections": sections, "auditors": engagement.auditors.select_related("org_unit"),
        "systems": engagement.systems.all(),
        "notes": FieldworkNote.objects.restrict(request.user, "view").filter(engagement=engagement)
        .select_related("author"),
        "findings": selectors.findings(request.user).filter(engagement=engagement),
        "is_auditor": is_auditor, "can_change": can(request.user, "change", engagement),
        "note_form": forms.NoteForm(initial={"noted_on": timezone.localdate()}),
        "finding_form": forms.FindingForm(sections=sections),
        "advance_form": forms.AdvanceForm(initial={"reported_on": timezone.localdate()}),
        "next_status": services.ENGAGEMENT_NEXT.get(EngagementStatus(engagement.status)),
    })


@login_required
@require_POST
def engagement_advance(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_restricted(Engagement, request.user, "change", pk=pk)
    form = forms.AdvanceForm(request.POST)
    if form.is_valid():
        run_step(request, lambda: services.engagement_advance(
            engagement=engagement, actor=request.user, conclusion=form.cleaned_data["conclusion"] or "",
            reported_on=form.cleaned_data["reported_on"]),
            lambda e: _("The engagement is now: %(status)s.") % {"status": e.get_status_display()})
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(engagement.get_absolute_url())


@login_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_restricted(Engagement, request.user, "change", pk=pk)
    form = forms.NoteForm(request.POST)
    if form.is_valid():
        run_step(request, lambda: services.note_add(engagement=engagement, actor=request.user,
                                                    **form.cleaned_data), _("The note was added."))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(engagement.get_absolute_url())


@login_required
@require_POST
def finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_restricted(Engagement, request.user, "change", pk=pk)
    form = forms.FindingForm(request.POST, sections=engagement.sections.all())
    if form.is_valid():
        finding = run_step(request, lambda: services.finding_add(engagement=engagement, actor=request.user,
                                                                 **form.cleaned_data),
                           lambda f: _("Finding #%(n)d was recorded.") % {"n": f.number})
        if finding is not None:
            return redirect(finding.get_absolute_url())
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(engagement.get_absolute_url())


@login_required
def engagement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from mamoru.inspection.exports import engagement_pdf as build
    from mamoru.inspection.views import _download

    engagement = get_restricted(Engagement, request.user, "export", pk=pk)
    content = build(engagement)
    audit.event(AuditEvent.EXPORT, obj=engagement, details={"format": "pdf"})
    return _download(content, "application/pdf", f"audit-report-{engagement.pk}.pdf")


# --- findings and corrective actions -----------------------------------------------------------------------

@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "view", AuditFinding):
        raise Http404(NOT_FOUND)
    return render(request, "inspection/finding_list.html", {"findings": selectors.findings(request.user)[:500]})


def _owners(finding: AuditFinding) -> Any:
    unit = finding.org_unit
    ancestors = [int(x) for x in unit.path.strip("/").split("/")][1:]  # not the municipality itself
    return (Person.objects.filter(Q(org_unit__path__startswith=unit.path) | Q(org_unit_id__in=ancestors),
                                  is_active=True).select_related("org_unit").order_by("org_unit__path", "full_name"))


def _may_add_action(user: Any, finding: AuditFinding) -> bool:
    return units_for(user, "add", CorrectiveAction).filter(pk=finding.org_unit_id).exists()


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_restricted(AuditFinding, request.user, "view", pk=pk)
    person = services.person_of(request.user)
    is_auditor = person is not None and finding.engagement.auditors.filter(pk=person.pk).exists()
    actions = []
    for a in selectors.actions_for(request.user, finding):
        may_update = a.status != ActionStatus.CLOSED and (
            (person is not None and a.owner_id == person.pk) or can(request.user, "change", a))
        actions.append({"a": a, "may_update": may_update,
                        "may_follow_up": is_auditor and a.status == ActionStatus.DONE})
    can_add = finding.status == "open" and _may_add_action(request.user, finding)
    return render(request, "inspection/finding_detail.html", {
        "finding": finding, "actions": actions,
        "action_form": forms.ActionForm(owners=_owners(finding)) if can_add else None,
        "progress_form": forms.ProgressForm(initial={"completed_on": timezone.localdate()}),
        "follow_up_form": forms.FollowUpForm(),
        "history": _history(request.user, finding),
    })


def _history(user: Any, finding: AuditFinding) -> Any:
    """The finding's changes and its corrective actions' (for readers of the audit trail)."""
    from mamoru.core.selectors import audit_entries

    actions = [str(pk) for pk in finding.actions.values_list("pk", flat=True)]
    return audit_entries(user).filter(
        Q(object_type="inspection.auditfinding", object_id=str(finding.pk))
        | Q(object_type="inspection.correctiveaction", object_id__in=actions)).order_by("-seq")[:30]


@login_required
@require_POST
def action_add(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_restricted(AuditFinding, request.user, "view", pk=pk)
    if not _may_add_action(request.user, finding):
        raise Http404(NOT_FOUND)
    form = forms.ActionForm(request.POST, owners=_owners(finding))
    if form.is_valid():
        run_step(request, lambda: services.action_add(finding=finding, actor=request.user, **form.cleaned_data),
                 _("The corrective action was planned."))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(finding.get_absolute_url())


@login_required
@require_POST
def action_progress(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_restricted(CorrectiveAction, request.user, "view", pk=pk)
    owner = action.owner.user_id == request.user.pk
    if not (owner or can(request.user, "change", action)):
        raise Http404(NOT_FOUND)
    form = forms.ProgressForm(request.POST)
    if form.is_valid():
        run_step(request, lambda: services.action_progress(action=action, actor=request.user,
                                                           status=form.cleaned_data["status"],
                                                           note=form.cleaned_data["progress_note"],
                                                           completed_on=form.cleaned_data["completed_on"]),
                 _("The progress was recorded."))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(action.get_absolute_url())


@login_required
@require_POST
def action_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_restricted(CorrectiveAction, request.user, "approve", pk=pk)
    form = forms.FollowUpForm(request.POST)
    if form.is_valid():
        run_step(request, lambda: services.action_follow_up(
            action=action, actor=request.user, accept=form.cleaned_data["decision"] == "accept",
            note=form.cleaned_data["verification_note"]),
            lambda a: _("Closed after follow-up.") if a.status == ActionStatus.CLOSED
            else _("Returned to the owner."))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(action.get_absolute_url())
