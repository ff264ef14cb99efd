"""The one filterset of the asset register: list page, exports and the API use it alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mamoru.assets import search
from mamoru.assets.checks import INVENTORY_INTERVAL_DAYS
from mamoru.assets.choices import AssetKind, AssetStatus, Tier
from mamoru.assets.models import ClassificationLevel, InformationAsset
from mamoru.core.access import cached_for_user
from mamoru.core.filtersets import IdChoiceFilter, IdFilter, PerRequestFormMixin, YesNoFilter
from mamoru.core.models import OrgUnit
from mamoru.core.widgets import FastSelect

SORTS = ("number", "name", "org_unit__path", "tier", "confidentiality__rank", "last_inventory_on", "updated_at")


def _visible_units(user: Any) -> dict[int, tuple[str, str]]:
    """(name, path) of each unit ``user`` may view, by id."""
    units = OrgUnit.objects.restrict(user, "view") if user is not None else OrgUnit.objects.all()
    return {pk: (name, path) for pk, name, path in units.values_list("pk", "name", "path")}


class InformationAssetFilterSet(PerRequestFormMixin, df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search",
                      help_text=_("Register number, name or description; full/half width and kana are ignored."))
    org_unit = IdChoiceFilter(label=_("section (with sub-units)"), method="in_unit")
    kind = df.ChoiceFilter(label=_("kind"), choices=AssetKind.choices, widget=FastSelect)
    tier = df.ChoiceFilter(label=_("tier"), choices=Tier.choices, widget=FastSelect)
    status = df.ChoiceFilter(label=_("status"), choices=AssetStatus.choices, widget=FastSelect)
    confidentiality = IdChoiceFilter(label=_("confidentiality"), field_name="confidentiality_id")
    integrity = IdChoiceFilter(label=_("integrity"), field_name="integrity_id")
    availability = IdChoiceFilter(label=_("availability"), field_name="availability_id")
    has_personal_info = YesNoFilter(label=_("personal information"))
    has_my_number = YesNoFilter(label=_("specific personal information (My Number)"))
    overdue = YesNoFilter(label=_("inventory overdue"), method="inventory_overdue")
    manager = IdFilter(label=_("manager"), field_name="manager_id")
    # Sorting is chosen with the column headers; the field keeps it while other filters change.
    sort = df.OrderingFilter(label=_("sort"), fields=[(f, f.replace("__", "_")) for f in SORTS],
                             widget=forms.HiddenInput)

    class Meta:
        model = InformationAsset
        fields = ["q", "org_unit", "kind", "tier", "status", "confidentiality", "integrity", "availability",
                  "has_personal_info", "has_my_number", "overdue", "manager"]

    def __init__(self, *args, user=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # The choices are what the user can see, read in one query each (the sections cached like the grants);
        # the page reuses them as labels.
        self.units: dict[int, tuple[str, str]] = cached_for_user(user, "assets:filter-units",
                                                                 lambda: _visible_units(user))
        self.filters["org_unit"].set_choices([(pk, name) for pk, (name, _path) in self.units.items()])
        levels = ClassificationLevel.objects.restrict(user, "view") if user is not None else \
            ClassificationLevel.objects.all()
        self.levels: dict[int, str] = {}
        by_axis: dict[str, list[tuple[int, str]]] = {axis: [] for axis in InformationAsset.AXES}
        for pk, axis, label in levels.filter(scheme__is_active=True).values_list("pk", "axis", "label"):
            self.levels[pk] = label
            by_axis.setdefault(axis, []).append((pk, label))
        for axis in InformationAsset.AXES:
            self.filters[axis].set_choices(by_axis[axis])

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs  # applied last, by filter_queryset, once the other filters have narrowed the rows

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        value = self.form.cleaned_data.get("q")
        return search.search(queryset, value, bounded=True) if value else queryset

    def in_unit(self, qs: QuerySet, name: str, value: int | None) -> QuerySet:
        return qs.filter(org_unit__path__startswith=self.units[value][1]) if value else qs

    def inventory_overdue(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        limit = dt.date.today() - dt.timedelta(days=INVENTORY_INTERVAL_DAYS)
        overdue = Q(last_inventory_on__isnull=True) | Q(last_inventory_on__lt=limit)
        return qs.filter(overdue) if value else qs.exclude(overdue)
