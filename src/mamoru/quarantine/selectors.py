"""Read side of the mail quarantine. Every query starts from a restricted queryset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from mamoru.quarantine.choices import GatewayEventKind, ReleaseStatus
from mamoru.quarantine.models import GatewayEvent, GatewaySettings, QuarantineItem, ReleaseRequest
from mamoru.quarantine.services import may_decide


def items(user: Any) -> QuerySet[QuarantineItem]:
    return QuarantineItem.objects.restrict(user, "view").select_related("recipient", "org_unit").defer("report")


def releases_to_decide(user: Any) -> list[ReleaseRequest]:
    """Open requests in the user's approval scope that the city's settings let this user decide."""
    qs = (ReleaseRequest.objects.restrict(user, "approve").filter(status=ReleaseStatus.REQUESTED)
          .select_related("item", "item__org_unit", "item__municipality", "requested_by").order_by("created_at"))
    requests = list(qs[:500])
    roles = dict(GatewaySettings.objects.filter(municipality_id__in={r.item.municipality_id for r in requests})
                 .values_list("municipality_id", "approver_role"))
    return [r for r in requests if may_decide(user, r, roles)]


def daily_counts(user: Any, *, days: int = 31, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per day (newest first): received, sanitized, held, converted/removed/disarmed parts, deliveries, failures."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    processed = Q(kind=GatewayEventKind.PROCESSED)
    rows = (GatewayEvent.objects.restrict(user, "view").filter(day__gte=since, day__lte=today)
            .values("day").order_by("-day")
            .annotate(received=Count("pk", filter=processed),
                      held=Count("pk", filter=processed & Q(held=True)),
                      converted=Sum("converted"), removed=Sum("removed"), disarmed=Sum("disarmed"),
                      delivered=Count("pk", filter=Q(kind=GatewayEventKind.DELIVERED)),
                      deferred=Count("pk", filter=Q(kind=GatewayEventKind.DEFERRED)),
                      failed=Count("pk", filter=Q(kind=GatewayEventKind.FAILED)),
                      released=Count("pk", filter=Q(kind=GatewayEventKind.RELEASED))))
    out = []
    for row in rows:
        row["sanitized"] = row["received"] - row["held"]
        for key in ("converted", "removed", "disarmed"):
            row[key] = row[key] or 0
        out.append(row)
    return out
