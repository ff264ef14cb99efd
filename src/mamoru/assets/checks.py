"""Policy checks of the asset register (ASSET-…), seed §2(9)–(11), §6(2), §6(3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.assets.choices import AssetStatus, Tier
from mamoru.assets.models import InformationAsset
from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check

INVENTORY_INTERVAL_DAYS = 365


def _assets(ctx: Any) -> Any:
    qs = InformationAsset.objects.filter(status=AssetStatus.IN_USE).select_related("org_unit")
    if getattr(ctx, "municipality", None) is not None:
        qs = qs.filter(municipality=ctx.municipality)
    return qs


def _finding(asset: InformationAsset, message: str) -> FindingData:
    return FindingData(org_unit=asset.org_unit, message=message, obj=asset)


@policy_check(code="ASSET-001", clause="6(3)①", severity=Severity.CRITICAL,
              title=gettext_lazy("My Number information outside the My Number tier"))
def my_number_outside_tier(ctx: Any) -> Iterable[FindingData]:
    for asset in _assets(ctx).filter(has_my_number=True).exclude(tier=Tier.MYNUMBER).iterator(chunk_size=2000):
        yield _finding(asset, _("%(asset)s holds specific personal information (My Number) but is registered in the "
                                "%(tier)s.") % {"asset": asset, "tier": asset.get_tier_display()})


@policy_check(code="ASSET-002", clause="6(3)③", severity=Severity.HIGH,
              title=gettext_lazy("Confidentiality 3 information in the internet tier"))
def confidential_in_internet_tier(ctx: Any) -> Iterable[FindingData]:
    qs = _assets(ctx).filter(tier=Tier.INTERNET).filter(
        Q(confidentiality__code="3") | Q(confidentiality__base_code="3")).select_related("confidentiality")
    for asset in qs.iterator(chunk_size=2000):
        yield _finding(asset, _("%(asset)s is classified %(level)s but is registered in the internet tier.")
                       % {"asset": asset, "level": asset.confidentiality})


@policy_check(code="ASSET-003", clause="6(2)", severity=Severity.MEDIUM,
              title=gettext_lazy("Asset without a manager or a classification"))
def missing_manager_or_classification(ctx: Any) -> Iterable[FindingData]:
    qs = _assets(ctx).filter(Q(manager__isnull=True) | Q(confidentiality__isnull=True) | Q(integrity__isnull=True)
                             | Q(availability__isnull=True))
    for asset in qs.iterator(chunk_size=2000):
        missing = []
        if asset.manager_id is None:
            missing.append(_("manager"))
        for axis in InformationAsset.AXES:
            if getattr(asset, f"{axis}_id") is None:
                missing.append(str(InformationAsset._meta.get_field(axis).verbose_name))
        yield _finding(asset, _("%(asset)s has no %(missing)s.") % {"asset": asset, "missing": "、".join(missing)})


@policy_check(code="ASSET-004", clause="6(2)", severity=Severity.LOW,
              title=gettext_lazy("Inventory overdue"))
def inventory_overdue(ctx: Any) -> Iterable[FindingData]:
    limit = ctx.today - dt.timedelta(days=INVENTORY_INTERVAL_DAYS)
    qs = _assets(ctx).filter(Q(last_inventory_on__isnull=True) | Q(last_inventory_on__lt=limit))
    for asset in qs.iterator(chunk_size=2000):
        when = asset.last_inventory_on.isoformat() if asset.last_inventory_on else _("never")
        yield _finding(asset, _("%(asset)s was last inventoried %(when)s (due every %(days)s days).")
                       % {"asset": asset, "when": when, "days": INVENTORY_INTERVAL_DAYS})


@policy_check(code="ASSET-005", clause="6(2)", severity=Severity.MEDIUM,
              title=gettext_lazy("Section late with its yearly inventory"))
def inventory_campaign_overdue(ctx: Any) -> Iterable[FindingData]:
    from mamoru.assets.models import InventoryConfirmation

    qs = (InventoryConfirmation.objects.filter(confirmed_at__isnull=True, campaign__closed_at__isnull=True,
                                               campaign__due_on__lt=ctx.today)
          .select_related("org_unit", "campaign"))
    if getattr(ctx, "municipality", None) is not None:
        qs = qs.filter(campaign__municipality=ctx.municipality)
    for c in qs:
        yield FindingData(org_unit=c.org_unit, obj=c, message=_(
            "%(section)s has not confirmed the %(campaign)s (due %(due)s).")
            % {"section": c.org_unit, "campaign": c.campaign, "due": c.campaign.due_on.isoformat()})
