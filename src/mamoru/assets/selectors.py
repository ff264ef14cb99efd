"""Read-side queries of the asset register. Every one starts from a restricted queryset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import QuerySet

from mamoru.assets.choices import Axis, HandlingAspect
from mamoru.assets.models import ClassificationLevel, ClassificationScheme, HandlingRule, InformationAsset
from mamoru.core.models import OrgUnit

LIST_RELATED = ("org_unit", "manager", "confidentiality", "integrity", "availability")


class PageRow(NamedTuple):
    """A register page row, read as plain values: no model instances, and no join but one on the manager's
    key. The filterset has already read the sections and levels the user can see (its choices), and they
    label the rows. Joining five tables cost PostgreSQL 5-6 ms of planning per page."""

    pk: int
    number: str
    name: str
    status: str
    tier: str
    has_personal_info: bool
    has_my_number: bool
    last_inventory_on: dt.date | None
    org_unit_id: int
    manager__full_name: str | None
    confidentiality_id: int | None
    integrity_id: int | None
    availability_id: int | None


def asset_list(user: Any, action: str = "view") -> QuerySet[InformationAsset]:
    return InformationAsset.objects.restrict(user, action).select_related(*LIST_RELATED)


def asset_page(user: Any) -> QuerySet[InformationAsset]:
    """The register page's rows before filtering: the restricted register (read with ``page_rows``)."""
    return InformationAsset.objects.restrict(user, "view")


def page_rows(queryset: QuerySet[InformationAsset]) -> list[PageRow]:
    """One page of the register (a sliced queryset)."""
    return [PageRow(*values) for values in queryset.values_list(*PageRow._fields)]


def unit_names(ids: set[int]) -> dict[int, str]:
    """Names of sections outside the filter's choices (an asset in a unit the user cannot list)."""
    return dict(OrgUnit.objects.filter(pk__in=ids).order_by().values_list("pk", "name")) if ids else {}


def level_labels(ids: set[int]) -> dict[int, str]:
    """Labels of levels outside the active scheme's choices (none, unless a switch is under way)."""
    return dict(ClassificationLevel.objects.filter(pk__in=ids).order_by().values_list("pk", "label")) if ids else {}


@dataclass
class RuleGroup:
    aspect: str
    heading: str
    rules: list[HandlingRule] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """The distinct restriction texts under this heading, most demanding level first."""
        seen: list[str] = []
        for rule in self.rules:
            if rule.text not in seen:
                seen.append(rule.text)
        return seen


def asset_rules_grouped(asset: InformationAsset) -> list[RuleGroup]:
    """The asset's effective handling restrictions grouped by heading, in the order of HandlingAspect."""
    groups = {value: RuleGroup(aspect=value, heading=str(label)) for value, label in HandlingAspect.choices}
    for rule in asset.effective_rules():
        groups[rule.aspect].rules.append(rule)
    return [g for g in groups.values() if g.rules]


def scheme_list(user: Any) -> QuerySet[ClassificationScheme]:
    return ClassificationScheme.objects.restrict(user, "view").select_related("municipality")


@dataclass
class LevelRow:
    level: ClassificationLevel
    cells: list[HandlingRule | None]


@dataclass
class AxisTable:
    axis: str
    label: str
    rows: list[LevelRow]


def scheme_tables(scheme: ClassificationScheme) -> list[AxisTable]:
    """Per axis: its levels (most demanding first), each with one cell per HandlingAspect heading."""
    levels = list(scheme.levels.order_by("axis", "-rank"))
    rules = {(r.level_id, r.aspect): r for r in HandlingRule.objects.filter(level__scheme=scheme)}
    tables = []
    for axis, label in Axis.choices:
        rows = [LevelRow(level=lv, cells=[rules.get((lv.pk, a)) for a in HandlingAspect.values])
                for lv in levels if lv.axis == axis]
        tables.append(AxisTable(axis=axis, label=str(label), rows=rows))
    return tables


def switch_schemes(user: Any) -> QuerySet[ClassificationScheme]:
    """Schemes the user may switch between (CISO/統括 of the municipality)."""
    return ClassificationScheme.objects.restrict(user, "change").order_by("municipality_id", "name")


def used_levels(scheme: ClassificationScheme) -> list[ClassificationLevel]:
    """Levels of ``scheme`` that at least one asset of its municipality uses, by axis and rank."""
    used: set[int] = set()
    assets = InformationAsset.objects.filter(municipality_id=scheme.municipality_id)
    for axis in InformationAsset.AXES:
        used.update(assets.filter(**{f"{axis}__scheme": scheme}).values_list(f"{axis}_id", flat=True).distinct())
    order = {a: i for i, a in enumerate(Axis.values)}
    return sorted(scheme.levels.filter(pk__in=used), key=lambda lv: (order[lv.axis], -lv.rank))


def default_target(level: ClassificationLevel, candidates: list[ClassificationLevel]) -> ClassificationLevel | None:
    """The preselected target of a level: the same code, else the same base code (most demanding first)."""
    same_axis = [c for c in candidates if c.axis == level.axis]
    for c in same_axis:
        if c.code == level.code:
            return c
    for c in sorted(same_axis, key=lambda c: -c.rank):
        if c.family == level.family:
            return c
    return None
