"""The yearly inventory (棚卸し): services and selectors.

Starting a campaign creates one pending confirmation per in-scope section that holds assets in use.
A section manager confirms after checking (and correcting) their section's register; confirming stamps
``last_inventory_on`` on every asset of the section in use — one UPDATE and one audit event for the
section, not one entry per asset, so a section with thousands of assets confirms in one step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.assets.choices import AssetStatus
from mamoru.assets.models import InformationAsset, InventoryCampaign, InventoryConfirmation
from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit, Person


def fiscal_year_of(day: dt.date) -> int:
    """Japanese fiscal year: April to March (令和6年度 = 2024-04-01 … 2025-03-31 → 2024)."""
    return day.year if day.month >= 4 else day.year - 1


@transaction.atomic
def campaign_start(*, municipality: OrgUnit, due_on: dt.date, fiscal_year: int | None = None) -> InventoryCampaign:
    year = fiscal_year or fiscal_year_of(timezone.localdate())
    if InventoryCampaign.objects.filter(municipality=municipality, fiscal_year=year).exists():
        raise ValidationError(_("An inventory for fiscal year %(year)s already exists.") % {"year": year})
    campaign = InventoryCampaign(municipality=municipality, fiscal_year=year, due_on=due_on)
    campaign.full_clean()
    campaign.save()
    sections = (InformationAsset.objects.filter(municipality=municipality, status=AssetStatus.IN_USE,
                                                org_unit__in_scope=True)
                .values_list("org_unit_id", flat=True).distinct())
    for unit_id in sorted(set(sections)):
        InventoryConfirmation.objects.create(campaign=campaign, org_unit_id=unit_id)
    return campaign


@transaction.atomic
def section_confirm(*, confirmation: InventoryConfirmation, user: Any, note: str = "") -> InventoryConfirmation:
    if confirmation.campaign.closed_at is not None:
        raise ValidationError(_("This inventory is closed."))
    if confirmation.confirmed_at is not None:
        raise ValidationError(_("This section has already confirmed its inventory."))
    today = timezone.localdate()
    count = (InformationAsset.objects.filter(org_unit=confirmation.org_unit, status=AssetStatus.IN_USE)
             .update(last_inventory_on=today))
    confirmation.confirmed_at = timezone.now()
    confirmation.confirmed_by = Person.objects.filter(user=user).first()
    confirmation.asset_count = count
    confirmation.note = note
    confirmation.full_clean()
    confirmation.save()
    audit.event(AuditEvent.APPROVAL, obj=confirmation, actor=user,
                details={"operation": "inventory confirmed", "assets": count, "date": today.isoformat()})
    return confirmation


@transaction.atomic
def campaign_close(*, campaign: InventoryCampaign, user: Any) -> InventoryCampaign:
    """End the campaign: no more confirmations; its late sections stop being findings (their assets' own
    inventory dates still are, ASSET-004). The audit event names the sections that never confirmed."""
    campaign = InventoryCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.closed_at is not None:
        raise ValidationError(_("This inventory is already closed."))
    pending = list(campaign.confirmations.filter(confirmed_at__isnull=True)
                   .order_by("org_unit__path").values_list("org_unit__name", flat=True))
    campaign.closed_at = timezone.now()
    campaign.save(update_fields=["closed_at", "updated_at"])
    audit.event(AuditEvent.APPROVAL, obj=campaign, actor=user, details={
        "operation": "inventory closed", "confirmed": campaign.confirmations.filter(confirmed_at__isnull=False)
        .count(), "not_confirmed": pending})
    return campaign


@dataclass(frozen=True)
class DepartmentProgress:
    department: str
    sections: int
    confirmed: int

    @property
    def percent(self) -> int:
        return round(100 * self.confirmed / self.sections) if self.sections else 100


def campaign_progress(*, campaign: InventoryCampaign, user: Any) -> list[DepartmentProgress]:
    """Confirmed sections per department, for the confirmations the user may see (two queries)."""
    rows = (InventoryConfirmation.objects.restrict(user, "view").filter(campaign=campaign)
            .values("org_unit__parent_id")
            .annotate(total=Count("pk"), done=Count("pk", filter=Q(confirmed_at__isnull=False))))
    names = dict(OrgUnit.objects.filter(pk__in=[r["org_unit__parent_id"] for r in rows]).values_list("pk", "name"))
    return sorted((DepartmentProgress(names.get(r["org_unit__parent_id"], "—"), r["total"], r["done"]) for r in rows),
                  key=lambda p: p.department)
