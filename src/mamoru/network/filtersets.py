"""One filterset per listed model of the network app."""

from __future__ import annotations

import django_filters as df
from django.utils.translation import gettext_lazy as _

from mamoru.core.filtersets import YesNoFilter
from mamoru.network.choices import SystemKind, ZoneTier
from mamoru.network.models import InformationSystem, Terminal


class InformationSystemFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    tier = df.ChoiceFilter(label=_("tier"), choices=ZoneTier.choices)
    kind = df.ChoiceFilter(label=_("kind"), choices=SystemKind.choices)

    class Meta:
        model = InformationSystem
        fields = ["q", "tier", "kind"]


class TerminalFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    tier = df.ChoiceFilter(label=_("tier"), choices=ZoneTier.choices)
    multi_factor = YesNoFilter(label=_("multi-factor login"))
    export_blocked = YesNoFilter(label=_("export blocked"))

    class Meta:
        model = Terminal
        fields = ["q", "tier", "multi_factor", "export_blocked"]
