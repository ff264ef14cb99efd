"""One filterset per model: the finding list page, exports and the API use the same one."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.compliance.models import Finding
from mamoru.compliance.registry import check_choices
from mamoru.core.models import OrgUnit


def _units(request: Any) -> QuerySet[OrgUnit]:
    """Units offered in the filter: those the user may see (all when there is no request)."""
    if request is None:
        return OrgUnit.objects.all()
    return OrgUnit.objects.restrict(request.user, "view").order_by("path")


class FindingFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search")
    code = df.ChoiceFilter(label=_("check"), choices=check_choices)
    severity = df.ChoiceFilter(label=_("severity"), choices=Severity.choices)
    status = df.ChoiceFilter(label=_("status"), choices=FindingStatus.choices)
    org_unit = df.ModelChoiceFilter(label=_("unit (and its sub-units)"), queryset=_units, method="in_unit")

    class Meta:
        model = Finding
        fields = ["q", "code", "severity", "status", "org_unit"]

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(Q(object_repr__icontains=value) | Q(message__icontains=value) | Q(code__icontains=value))

    def in_unit(self, qs: QuerySet, name: str, value: OrgUnit) -> QuerySet:
        return qs.filter(org_unit__path__startswith=value.path)
