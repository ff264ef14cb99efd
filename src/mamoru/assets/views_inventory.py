"""Pages of the yearly inventory: campaigns, progress per department, section confirmation."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamoru.assets import inventory
from mamoru.assets.models import InventoryCampaign, InventoryConfirmation
from mamoru.core.access import can, user_municipality_ids
from mamoru.core.models import OrgUnit
from mamoru.core.views import get_restricted


def _admin_cities(user: object) -> list[OrgUnit]:
    """Municipalities where the user may start an inventory (CISO / 統括 on the city)."""
    return list(OrgUnit.objects.restrict(user, "change").filter(parent__isnull=True,
                                                                pk__in=user_municipality_ids(user)))


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = InventoryCampaign.objects.restrict(request.user, "view").select_related("municipality")
    return render(request, "assets/inventory_list.html", {
        "campaigns": campaigns, "can_start": bool(_admin_cities(request.user)),
        "default_due": dt.date.today() + dt.timedelta(days=30)})


@login_required
@require_POST
def campaign_start(request: HttpRequest) -> HttpResponse:
    cities = _admin_cities(request.user)
    if not cities:
        raise Http404(_("Not found, or you do not have access to it."))
    try:
        due_on = dt.date.fromisoformat(request.POST.get("due_on", ""))
        campaign = inventory.campaign_start(municipality=cities[0], due_on=due_on)
    except ValueError:
        messages.error(request, _("Enter the due date as YYYY-MM-DD."))
        return redirect("inventory:campaign_list")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("inventory:campaign_list")
    messages.success(request, _("The inventory was started."))
    return redirect(campaign)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_restricted(InventoryCampaign, request.user, "view", pk=pk)
    mine = (InventoryConfirmation.objects.restrict(request.user, "approve").filter(campaign=campaign)
            .select_related("org_unit", "confirmed_by"))
    return render(request, "assets/inventory_detail.html", {
        "campaign": campaign, "progress": inventory.campaign_progress(campaign=campaign, user=request.user),
        "mine": mine, "can_close": campaign.closed_at is None and can(request.user, "change", campaign)})


@login_required
@require_POST
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_restricted(InventoryCampaign, request.user, "change", pk=pk)
    try:
        inventory.campaign_close(campaign=campaign, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The inventory was closed."))
    return redirect(campaign)


@login_required
@require_POST
def section_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    confirmation = get_restricted(InventoryConfirmation, request.user, "approve", pk=pk)
    try:
        inventory.section_confirm(confirmation=confirmation, user=request.user, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The inventory of %(section)s was confirmed.") % {"section": confirmation.org_unit})
    return redirect(confirmation.campaign)
