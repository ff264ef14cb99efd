"""The one filterset of the asset register: list page, exports and the API use it alike."""

from __future__ import annotations

import datetime as dt

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mamoru.assets import search
from mamoru.assets.checks import INVENTORY_INTERVAL_DAYS
from mamoru.assets.choices import AssetKind, AssetStatus, Tier
from mamoru.assets.models import ClassificationLevel, InformationAsset
from mamoru.core.filtersets import IdFilter, YesNoFilter
from mamoru.core.models import OrgUnit
from mamoru.core.widgets import FastSelect

SORTS = ("number", "name", "org_unit__path", "tier", "confidentiality__rank", "last_inventory_on", "updated_at")


class InformationAssetFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search",
                      help_text=_("Register number, name or description; full/half width and kana are ignored."))
    org_unit = df.ModelChoiceFilter(label=_("section (with sub-units)"), queryset=OrgUnit.objects.all(),
                                    method="in_unit", widget=FastSelect)
    kind = df.ChoiceFilter(label=_("kind"), choices=AssetKind.choices)
    tier = df.ChoiceFilter(label=_("tier"), choices=Tier.choices)
    status = df.ChoiceFilter(label=_("status"), choices=AssetStatus.choices)
    confidentiality = df.ModelChoiceFilter(label=_("confidentiality"), queryset=ClassificationLevel.objects.filter(
        axis="confidentiality", scheme__is_active=True), widget=FastSelect)
    integrity = df.ModelChoiceFilter(label=_("integrity"), queryset=ClassificationLevel.objects.filter(
        axis="integrity", scheme__is_active=True), widget=FastSelect)
    availability = df.ModelChoiceFilter(label=_("availability"), queryset=ClassificationLevel.objects.filter(
        axis="availability", scheme__is_active=True), widget=FastSelect)
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
        if user is not None:  # choices limited to what the user can see
            self.filters["org_unit"].queryset = OrgUnit.objects.restrict(user, "view").only("name", "path")
            for axis in InformationAsset.AXES:
                self.filters[axis].queryset = ClassificationLevel.objects.restrict(user, "view").filter(
                    axis=axis, scheme__is_active=True).only("label", "rank")

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs  # applied last, by filter_queryset, once the other filters have narrowed the rows

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        value = self.form.cleaned_data.get("q")
        return search.search(queryset, value, bounded=True) if value else queryset

    def in_unit(self, qs: QuerySet, name: str, value: OrgUnit | None) -> QuerySet:
        return qs.filter(org_unit__path__startswith=value.path) if value else qs

    def inventory_overdue(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        limit = dt.date.today() - dt.timedelta(days=INVENTORY_INTERVAL_DAYS)
        overdue = Q(last_inventory_on__isnull=True) | Q(last_inventory_on__lt=limit)
        return qs.filter(overdue) if value else qs.exclude(overdue)
