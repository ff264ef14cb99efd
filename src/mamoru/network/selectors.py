"""Read side of the network pages. Every query starts from a restricted queryset."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from mamoru.core.access import units_for
from mamoru.core.models import OrgUnit
from mamoru.network.models import (
    DeclaredFlow,
    Firewall,
    Gateway,
    InformationSystem,
    Terminal,
    VerificationRun,
    Zone,
)


def city_of(user: Any, action: str = "view") -> OrgUnit | None:
    """The municipality whose network inventory the user may ``action`` (a grant on the city itself)."""
    return units_for(user, action, Zone).filter(parent__isnull=True).order_by("pk").first()  # type: ignore[no-any-return]


def zones(user: Any, city: OrgUnit) -> QuerySet[Zone]:
    return Zone.objects.restrict(user, "view").filter(municipality=city)


def gateways(user: Any, city: OrgUnit) -> QuerySet[Gateway]:
    return Gateway.objects.restrict(user, "view").filter(municipality=city)


def flows(user: Any, city: OrgUnit) -> QuerySet[DeclaredFlow]:
    return DeclaredFlow.objects.restrict(user, "view").filter(municipality=city).select_related(
        "source", "via", "approver")


def firewalls(user: Any, city: OrgUnit) -> QuerySet[Firewall]:
    return Firewall.objects.restrict(user, "view").filter(municipality=city)


def runs(user: Any, city: OrgUnit) -> QuerySet[VerificationRun]:
    return VerificationRun.objects.restrict(user, "view").filter(municipality=city).select_related("started_by")


def systems(user: Any) -> QuerySet[InformationSystem]:
    return InformationSystem.objects.restrict(user, "view").select_related("org_unit", "manager")


def terminals(user: Any) -> QuerySet[Terminal]:
    return Terminal.objects.restrict(user, "view").select_related("org_unit", "owner")
