"""Self-inspection pages: checklist templates, campaigns, the answering page, evidence, results and exports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mamoru.core import audit
from mamoru.core.access import may, units_for
from mamoru.core.choices import AuditEvent, UnitKind
from mamoru.core.models import OrgUnit
from mamoru.core.views import get_restricted, message_form_errors, run_step
from mamoru.inspection import forms, selectors, services
from mamoru.inspection.choices import AnswerValue, Audience
from mamoru.inspection.models import (
    Assignment,
    Campaign,
    ChecklistTemplate,
    Evidence,
    TemplateQuestion,
    fiscal_year_label,
)

NOT_FOUND = gettext_lazy("Not found, or you do not have access to it.")


def city_for(user: Any, model: Any, action: str) -> OrgUnit:
    """The municipality in which ``user`` may ``action`` objects of ``model`` (their own city), else 404."""
    city = units_for(user, action, model).filter(parent__isnull=True).order_by("pk").first()
    if city is None:
        raise Http404(NOT_FOUND)
    return city


def oversees(user: Any, action: str = "view") -> bool:
    """Whether ``user`` holds a role that reads others' checklists (results, progress); from the grants alone.
    (``may`` would also say yes to everyone for their own checklist.)"""
    from mamoru.core.access import user_roles
    from mamoru.inspection.models import ASSIGNMENT_ACTIONS

    return bool(user.is_superuser or user_roles(user) & ASSIGNMENT_ACTIONS[action])


def add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's own checklists, and the city's campaigns."""
    return render(request, "inspection/home.html", {
        "mine": selectors.my_assignments(request.user), "campaigns": selectors.campaigns(request.user),
        "can_start": may(request.user, "add", Campaign),
        "can_templates": may(request.user, "view", ChecklistTemplate),
        "can_audit": may(request.user, "view", _audit_model()),
    })


def _audit_model() -> Any:
    from mamoru.inspection.models import AuditPlan

    return AuditPlan


# --- templates ---------------------------------------------------------------------------------------------

@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "view", ChecklistTemplate):
        raise Http404(NOT_FOUND)
    templates = ChecklistTemplate.objects.restrict(request.user, "view").order_by("audience")
    return render(request, "inspection/template_list.html", {
        "templates": [(t, t.questions.filter(active=True).count()) for t in templates],
        "can_generate": may(request.user, "change", ChecklistTemplate)})


@login_required
@require_POST
def template_generate(request: HttpRequest) -> HttpResponse:
    city = city_for(request.user, ChecklistTemplate, "change")
    run_step(request, lambda: services.templates_generate(municipality=city, actor=request.user),
             lambda r: _("Checklists generated from the standards: %(t)d new checklists, %(q)d new questions.")
             % {"t": r.templates, "q": r.added})
    return redirect("inspection:template_list")


@login_required
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_restricted(ChecklistTemplate, request.user, "view", pk=pk)
    return render(request, "inspection/template_detail.html", {
        "template": template, "questions": template.questions.order_by("order", "pk"),
        "can_edit": ChecklistTemplate.objects.restrict(request.user, "change").filter(pk=pk).exists()})


def _question_form(request: HttpRequest, question: TemplateQuestion, title: str) -> HttpResponse:
    form = forms.TemplateQuestionForm(request.POST or None, instance=question)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.template_question_save(question=question, **{
                    k: form.cleaned_data[k] for k in forms.TemplateQuestionForm.Meta.fields})
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(question.template.get_absolute_url())
        message_form_errors(request, form)
    return render(request, "core/edit_form.html", {"form": form, "title": title, "object": question.template})


@login_required
def question_create(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_restricted(ChecklistTemplate, request.user, "change", pk=pk)
    return _question_form(request, TemplateQuestion(template=template),
                          _("New question for %(t)s") % {"t": template.title})


@login_required
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    question = get_restricted(TemplateQuestion, request.user, "change", pk=pk)
    return _question_form(request, question, _("Question %(r)s") % {"r": question.requirement or question.pk})


# --- campaigns ---------------------------------------------------------------------------------------------

@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    city = city_for(request.user, Campaign, "add")
    sections = OrgUnit.objects.filter(path__startswith=city.path, kind=UnitKind.SECTION, in_scope=True)
    form = forms.CampaignForm(request.POST or None, sections=sections)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_start(
                municipality=city, actor=request.user, fiscal_year=data["fiscal_year"], title=data["title"],
                starts_on=data["starts_on"], due_on=data["due_on"], audiences=data["audiences"],
                sections=list(data["sections"]) or None, remind_every_days=data["remind_every_days"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("The campaign was started: %(n)d checklists assigned.")
                             % {"n": campaign.assignments.count()})
            return redirect(campaign.get_absolute_url())
    return render(request, "core/edit_form.html", {"form": form, "title": _("Start a self-inspection campaign")})


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_restricted(Campaign, request.user, "view", pk=pk)
    overseer = oversees(request.user)
    progress = selectors.campaign_progress(request.user, campaign) if overseer else []
    late = (Assignment.objects.restrict(request.user, "view").filter(campaign=campaign, due_on__lt=_today())
            .exclude(status="submitted").select_related("person", "org_unit")[:200]) if overseer else []
    return render(request, "inspection/campaign_detail.html", {
        "campaign": campaign, "progress": progress, "late": late, "oversees": overseer,
        "mine": selectors.my_assignments(request.user).filter(campaign=campaign),
        "totals": {k: sum(getattr(p, k) for p in progress) for k in ("assigned", "submitted", "draft")},
        "can_close": campaign.is_open and Campaign.objects.restrict(request.user, "change").filter(pk=pk).exists(),
    })


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


@login_required
@require_POST
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_restricted(Campaign, request.user, "change", pk=pk)
    run_step(request, lambda: services.campaign_close(campaign=campaign, actor=request.user),
             _("The campaign was closed."))
    return redirect(campaign.get_absolute_url())


def _results_campaign(request: HttpRequest, pk: int, action: str) -> Campaign:
    campaign = get_restricted(Campaign, request.user, "view", pk=pk)
    if not oversees(request.user, action):
        raise Http404(NOT_FOUND)
    return campaign  # type: ignore[no-any-return]


@login_required
def results(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _results_campaign(request, pk, "view")
    res = selectors.campaign_results(request.user, campaign)
    weak = res.weakest
    review_url = None
    if weak and may(request.user, "change", _policy_document()):
        from urllib.parse import urlencode

        note = "\n".join(f"{r.key} {r.rate:.1f}%: {r.label[:80]}" for r in weak)
        review_url = reverse("policy:review_create", args=["standards"]) + "?" + urlencode({
            "trigger": "self_inspection", "note": _("Weakest requirements in %(c)s:\n%(list)s")
            % {"c": campaign.title, "list": note}})
    return render(request, "inspection/results.html", {
        "campaign": campaign, "results": res, "weak": weak, "review_url": review_url,
        "previous_label": fiscal_year_label(res.previous.fiscal_year) if res.previous else "",
        "values": [(v.value, v.label) for v in AnswerValue],
    })


def _policy_document() -> Any:
    from mamoru.policy.models import PolicyDocument

    return PolicyDocument


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def results_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    from mamoru.inspection.exports import results_xlsx as build

    campaign = _results_campaign(request, pk, "export")
    content = build(selectors.campaign_results(request.user, campaign),
                    selectors.campaign_progress(request.user, campaign))
    audit.event(AuditEvent.EXPORT, obj=campaign, details={"format": "xlsx"})
    return _download(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"self-inspection-{campaign.fiscal_year}.xlsx")


@login_required
def results_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from mamoru.inspection.exports import results_pdf as build

    campaign = _results_campaign(request, pk, "export")
    content = build(selectors.campaign_results(request.user, campaign),
                    selectors.campaign_progress(request.user, campaign))
    audit.event(AuditEvent.EXPORT, obj=campaign, details={"format": "pdf"})
    return _download(content, "application/pdf", f"self-inspection-{campaign.fiscal_year}.pdf")


# --- answering ---------------------------------------------------------------------------------------------

def _posted_answers(request: HttpRequest, question_ids: list[int]) -> dict[int, services.AnswerInput]:
    return {qid: services.AnswerInput(value=request.POST.get(f"v{qid}", ""), comment=request.POST.get(f"c{qid}", ""))
            for qid in question_ids if f"v{qid}" in request.POST or f"c{qid}" in request.POST}


def _attach(request: HttpRequest, assignment: Assignment, question_ids: list[int]) -> list[str]:
    """Attach the files chosen on the page (one input per question); the reasons of refused files."""
    problems = []
    for qid in question_ids:
        upload = request.FILES.get(f"f{qid}")
        if upload is None:
            continue
        if upload.size > services.MAX_EVIDENCE_BYTES:
            problems.append(_("%(file)s is %(size).1f MB; evidence files up to %(limit)d MB are accepted.")
                            % {"file": upload.name, "size": upload.size / (1024 * 1024),
                               "limit": services.MAX_EVIDENCE_BYTES // (1024 * 1024)})
            continue
        try:
            evidence = services.evidence_add(assignment=assignment, user=request.user, question_id=qid,
                                             filename=upload.name or "", data=upload.read())
        except ValidationError as exc:
            problems.extend(exc.messages)
        else:
            messages.success(request, _("%(file)s was attached (SHA-256 %(sha)s…).")
                             % {"file": evidence.filename, "sha": evidence.sha256[:12]})
    return problems


@login_required
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The answering page: every question on one plain form (answers, comments and evidence files), saved as a
    draft or submitted in one request."""
    assignment = get_restricted(Assignment, request.user, "view", pk=pk)
    questions = list(assignment.campaign.questions.filter(audience=assignment.audience).order_by("order", "pk"))
    is_owner = assignment.person.user_id == request.user.pk
    if request.method == "POST":
        submit = request.POST.get("action") == "submit"
        try:
            refused = _attach(request, assignment, [q.pk for q in questions])
            result = services.answers_save(assignment=assignment, user=request.user, submit=submit and not refused,
                                           answers=_posted_answers(request, [q.pk for q in questions]))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            for problem in [*refused, *result.problems]:
                messages.error(request, problem)
            if submit and (refused or result.problems):
                messages.warning(request, _("Your answers were saved as a draft."))
            elif submit:
                messages.success(request, _("Submitted. Thank you."))
            else:
                messages.success(request, _("Draft saved."))
        return redirect(assignment.get_absolute_url())
    answers = selectors.answers_of(assignment)
    editable = is_owner and assignment.campaign.is_open and not assignment.is_submitted
    rows, chapter = [], None
    for q in questions:
        heading = q.chapter != chapter and f"{q.chapter} {q.chapter_heading}".strip()
        chapter = q.chapter
        rows.append({"q": q, "a": answers.get(q.pk), "heading": heading})
    return render(request, "inspection/assignment_detail.html", {
        "assignment": assignment, "rows": rows, "editable": editable, "is_owner": is_owner,
        "values": [(v.value, v.label) for v in AnswerValue],
        "max_mb": services.MAX_EVIDENCE_BYTES // (1024 * 1024), "types": ", ".join(sorted(services.EVIDENCE_TYPES)),
        "can_reopen": is_owner and assignment.is_submitted and assignment.campaign.is_open,
    })


@login_required
@require_POST
def assignment_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_restricted(Assignment, request.user, "view", pk=pk)
    run_step(request, lambda: services.assignment_reopen(assignment=assignment, user=request.user),
             _("Re-opened: change your answers and submit again."))
    return redirect(assignment.get_absolute_url())


@login_required
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_restricted(Evidence, request.user, "view", pk=pk)
    try:
        data = services.evidence_read(evidence)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(evidence.answer.assignment.get_absolute_url())
    return _download(data, evidence.content_type, evidence.filename)


@login_required
@require_POST
def evidence_delete(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_restricted(Evidence, request.user, "view", pk=pk)
    assignment = evidence.answer.assignment
    run_step(request, lambda: services.evidence_remove(evidence=evidence, user=request.user),
             _("The file was removed from the answer."))
    return redirect(assignment.get_absolute_url() + f"#q{evidence.answer.question_id}")


AUDIENCE_LABELS = dict(Audience.choices)
