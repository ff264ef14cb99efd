"""Mail quarantine pages: held and sanitized mail, release requests and decisions, daily counts, settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mamoru.core.access import may, units_for
from mamoru.core.views import get_restricted, message_form_errors, paginate, run_step
from mamoru.quarantine import forms, selectors, services
from mamoru.quarantine.choices import ReleaseStatus
from mamoru.quarantine.filtersets import QuarantineItemFilterSet
from mamoru.quarantine.models import GatewayEvent, GatewaySettings, QuarantineItem, ReleaseRequest

NOT_FOUND = gettext_lazy("Not found, or you do not have access to it.")


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    filterset = QuarantineItemFilterSet(request.GET or None, queryset=selectors.items(request.user))
    page = paginate(request, filterset.qs)
    return render(request, "quarantine/item_list.html", {
        "filter": filterset, "page": page,
        "can_decide": may(request.user, "approve", QuarantineItem),
        "can_see_counts": may(request.user, "view", GatewayEvent),
        "can_configure": may(request.user, "change", GatewaySettings),
    })


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_restricted(QuarantineItem, request.user, "view", pk=pk)
    releases = list(item.release_requests.select_related("requested_by", "decided_by"))
    return render(request, "quarantine/item_detail.html", {
        "item": item, "parts": item.parts(), "defects": item.report.get("defects", []),
        "releases": [(r, services.may_decide(request.user, r) and r.status == ReleaseStatus.REQUESTED)
                     for r in releases],
        "request_form": forms.ReleaseRequestForm(item=item) if item.original_available else None,
        "decision_form": forms.DecisionForm(),
        "settings": services.gateway_settings_for(item.municipality),
    })


@login_required
@require_POST
def release_request(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_restricted(QuarantineItem, request.user, "view", pk=pk)
    form = forms.ReleaseRequestForm(request.POST, item=item)
    if form.is_valid():
        run_step(request, lambda: services.release_request_create(
            item=item, user=request.user, part_path=form.cleaned_data["part_path"],
            reason=form.cleaned_data["reason"]), _("Your request was sent to the approver."))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect(item.get_absolute_url())


@login_required
@require_POST
def release_decide(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_restricted(ReleaseRequest, request.user, "approve", pk=pk)
    form = forms.DecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        run_step(request, lambda: services.release_decide(req=req, user=request.user, approve=approve,
                                                          note=form.cleaned_data["note"]),
                 lambda r: (_("Approved: the original is queued for delivery to %(to)s.") % {
                     "to": r.item.recipient_address} if r.status == ReleaseStatus.APPROVED
                     else _("Approved: the requester can now download it.") if r.status == ReleaseStatus.AVAILABLE
                     else _("Refused.")))
    else:
        message_form_errors(request, form, labelled=True)
    return redirect("quarantine:release_list" if request.POST.get("next") == "list" else req.get_absolute_url())


@login_required
def release_download(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_restricted(ReleaseRequest, request.user, "view", pk=pk)
    try:
        data, filename, content_type = services.release_download(req=req, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(req.get_absolute_url())
    response = HttpResponse(data, content_type="application/octet-stream")
    from django.utils.http import content_disposition_header

    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Mamoru-Original-Type"] = content_type.encode("ascii", "replace").decode()
    return response


@login_required
def release_list(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "approve", QuarantineItem):
        raise Http404(NOT_FOUND)
    return render(request, "quarantine/release_list.html", {
        "requests": selectors.releases_to_decide(request.user), "decision_form": forms.DecisionForm()})


@login_required
def daily(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "view", GatewayEvent):
        raise Http404(NOT_FOUND)
    rows = selectors.daily_counts(request.user)
    peak = max((r["received"] for r in rows), default=0) or 1
    totals = {k: sum(r[k] for r in rows) for k in ("received", "sanitized", "held", "converted", "removed",
                                                     "disarmed", "delivered", "deferred", "failed", "released")}
    return render(request, "quarantine/daily.html", {"rows": rows, "totals": totals, "peak": peak})


def _city(user: Any) -> Any:
    city = units_for(user, "change", GatewaySettings).filter(parent__isnull=True).order_by("pk").first()
    if city is None:
        raise Http404(NOT_FOUND)
    return city


@login_required
def settings_edit(request: HttpRequest) -> HttpResponse:
    city = _city(request.user)
    instance = services.gateway_settings_for(city)
    form = forms.GatewaySettingsForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            saved = form.save(commit=False)
            saved.municipality = city
            try:
                saved.full_clean()
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                saved.save()
                messages.success(request, _("Saved."))
                return redirect("quarantine:item_list")
        message_form_errors(request, form)
    return render(request, "core/edit_form.html", {"form": form, "title": _("Mail gateway settings"),
                                                   "object": instance if instance.pk else None})
