"""The filterset of the quarantine list (page and exports share it)."""

from __future__ import annotations

import django_filters as df
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mamoru.quarantine.choices import Delivery, ItemStatus
from mamoru.quarantine.models import QuarantineItem


class QuarantineItemFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search",
                      help_text=_("Subject, sender, recipient or quarantine id"))
    status = df.ChoiceFilter(label=_("status"), choices=ItemStatus.choices)
    delivery = df.ChoiceFilter(label=_("delivery"), choices=Delivery.choices)
    with_removed = df.BooleanFilter(label=_("with removed or disarmed parts"), method="removed_parts")
    received_from = df.DateFilter(label=_("received from"), field_name="received_at", lookup_expr="date__gte")
    received_to = df.DateFilter(label=_("received to"), field_name="received_at", lookup_expr="date__lte")

    class Meta:
        model = QuarantineItem
        fields = ["q", "status", "delivery", "with_removed", "received_from", "received_to"]

    def search(self, qs: QuerySet[QuarantineItem], name: str, value: str) -> QuerySet[QuarantineItem]:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(subject__icontains=value) | Q(sender__icontains=value) | Q(mail_from__icontains=value)
                         | Q(recipient_address__icontains=value) | Q(quarantine_id__iexact=value))

    def removed_parts(self, qs: QuerySet[QuarantineItem], name: str, value: bool | None) -> QuerySet[QuarantineItem]:
        if value is None:
            return qs
        cond = Q(removed__gt=0) | Q(disarmed__gt=0)
        return qs.filter(cond) if value else qs.exclude(cond)
