"""Policy library pages: documents, versions (draft → review → approval → publication), diff, PDF, search."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamoru.core import audit
from mamoru.core.access import can
from mamoru.core.choices import AuditEvent
from mamoru.core.views import get_restricted, message_form_errors, run_step
from mamoru.policy import selectors, services
from mamoru.policy.choices import ApprovalKind
from mamoru.policy.exports import version_export
from mamoru.policy.forms import ApproveForm, ClauseForm, PublishForm
from mamoru.policy.models import Acknowledgement, Clause, PolicyDocument, PolicyVersion


def _version(request: HttpRequest, slug: str, number: int, action: str = "view") -> PolicyVersion:
    document = get_restricted(PolicyDocument, request.user, "view", slug=slug)
    return get_restricted(PolicyVersion, request.user, action, document=document, number=number)  # type: ignore[no-any-return]


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    documents = [(d, selectors.current_version(d, request.user)) for d in selectors.document_list(request.user)]
    return render(request, "policy/document_list.html", {"documents": documents})


def _version_context(request: HttpRequest, version: PolicyVersion) -> dict[str, Any]:
    user = request.user
    document = version.document
    ack = Acknowledgement.objects.filter(version=version, person__user=user).first()
    return {
        "document": document, "version": version, "tree": selectors.clause_tree(version),
        "glossary": version.glossaryterm_set.order_by("order"), "link": selectors.glossary_linker(version),
        "versions": PolicyVersion.objects.restrict(user, "view").filter(document=document).order_by("-number"),
        "can_change": can(user, "change", document), "can_approve": can(user, "approve", document),
        "my_ack": ack, "progress": selectors.acknowledgement_progress(version, user),
        "approve_form": ApproveForm(), "publish_form": PublishForm(document=document),
    }


@login_required
def document_detail(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_restricted(PolicyDocument, request.user, "view", slug=slug)
    version = selectors.current_version(document, request.user)
    if version is None:  # nothing published yet: editors see the latest draft
        version = PolicyVersion.objects.restrict(request.user, "view").filter(document=document).order_by(
            "-number").first()
    if version is None:
        raise Http404(_("Not found, or you do not have access to it."))
    return render(request, "policy/version_detail.html", _version_context(request, version))


@login_required
def version_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    return render(request, "policy/version_detail.html", _version_context(request, _version(request, slug, number)))


@login_required
@require_POST
def version_draft(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_restricted(PolicyDocument, request.user, "change", slug=slug)
    version = run_step(request, lambda: services.version_draft(
        document=document, actor=request.user, change_summary=request.POST.get("change_summary", "")),
        lambda v: _("Version %(n)s was started as a copy of the latest version.") % {"n": v.number})
    return redirect(version or document)


@login_required
def clause_edit(request: HttpRequest, slug: str, number: int, pk: int) -> HttpResponse:
    version = _version(request, slug, number, "change")
    clause = get_restricted(Clause, request.user, "change", version=version, pk=pk)
    if not version.is_editable:
        messages.error(request, _("Only a draft can be changed; this version is %(status)s.")
                       % {"status": version.get_status_display()})
        return redirect(version)
    form = ClauseForm(request.POST or None, instance=clause)
    if request.method == "POST" and form.is_valid():
        try:
            services.clause_update(clause=clause, **{f: form.cleaned_data[f] for f in form.Meta.fields})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{version.get_absolute_url()}#clause-{clause.pk}")
    return render(request, "policy/clause_form.html", {"form": form, "clause": clause, "version": version})


@login_required
@require_POST
def version_submit(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number, "change")
    run_step(request, lambda: services.version_submit(version=version, actor=request.user),
             _("The version was submitted for review."))
    return redirect(version)


@login_required
@require_POST
def version_return(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number, "change")
    run_step(request, lambda: services.version_return(version=version, actor=request.user,
                                                      note=request.POST.get("note", "")),
             _("The version was sent back to draft."))
    return redirect(version)


@login_required
@require_POST
def version_approve(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number, "change")
    form = ApproveForm(request.POST, request.FILES)
    if not form.is_valid():
        message_form_errors(request, form)
        return redirect(version)
    kind = form.cleaned_data["kind"]
    if kind == ApprovalKind.CISO and not can(request.user, "approve", version.document):
        messages.error(request, _("Only the CISO approves a version; record the committee's decision instead."))
        return redirect(version)
    run_step(request, lambda: services.version_approve(
        version=version, actor=request.user, kind=kind, decided_on=form.cleaned_data.get("decided_on"),
        minutes=form.cleaned_data.get("minutes")), _("The version was approved."))
    return redirect(version)


@login_required
@require_POST
def version_publish(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number, "change")
    form = PublishForm(request.POST, document=version.document)
    if not form.is_valid():
        message_form_errors(request, form)
        return redirect(version)
    run_step(request, lambda: services.version_publish(
        version=version, actor=request.user, effective_on=form.cleaned_data["effective_on"],
        acknowledge_by=form.cleaned_data.get("acknowledge_by")),
        _("The version was published; people were asked to acknowledge it."))
    return redirect(version)


@login_required
@require_POST
def acknowledge(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number)
    run_step(request, lambda: services.acknowledgement_confirm(version=version, user=request.user),
             _("Thank you: your acknowledgement was recorded."))
    return redirect(version)


@login_required
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_restricted(PolicyDocument, request.user, "view", slug=slug)
    versions = PolicyVersion.objects.restrict(request.user, "view").filter(document=document).order_by("number")
    numbers = [v.number for v in versions]
    if len(numbers) < 2:
        messages.info(request, _("There is only one version to compare."))
        return redirect(document)
    try:
        old_n = int(request.GET.get("from", numbers[-2]))
        new_n = int(request.GET.get("to", numbers[-1]))
    except ValueError as exc:
        raise Http404(_("Not found, or you do not have access to it.")) from exc
    by_number = {v.number: v for v in versions}
    if old_n not in by_number or new_n not in by_number:
        raise Http404(_("Not found, or you do not have access to it."))
    rows = selectors.version_diff(by_number[old_n], by_number[new_n])
    show_all = request.GET.get("all") == "1"
    return render(request, "policy/version_diff.html", {
        "document": document, "old": by_number[old_n], "new": by_number[new_n], "numbers": numbers,
        "rows": rows if show_all else [r for r in rows if r.status != "same"], "show_all": show_all,
        "changed": sum(r.status != "same" for r in rows)})


@login_required
def version_pdf(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(request, slug, number)
    content = version_export(version, "pdf")
    audit.event(AuditEvent.EXPORT, obj=version, details={"format": "pdf"})
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{number}.pdf"'
    return response


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = list(selectors.clause_search(request.user, query)[:200]) if query else []
    return render(request, "policy/search.html", {"query": query, "results": results})
