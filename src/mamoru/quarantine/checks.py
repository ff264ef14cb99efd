"""Policy checks of the 無害化 mail gateway (MAIL-…): seed §2(13), §6(3)②."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check
from mamoru.quarantine.choices import Delivery, ReleaseStatus
from mamoru.quarantine.models import QuarantineItem, ReleaseRequest

RELEASE_WAIT_DAYS = 3


@policy_check(code="MAIL-001", clause="6(3)②", severity=Severity.MEDIUM,
              title=gettext_lazy("Sanitized mail held for an operator after a delivery failure"))
def delivery_failures(ctx: Any) -> Iterable[FindingData]:
    """Mail the LGWAN-side server refused permanently: nobody received it until an operator acts."""
    failed = (QuarantineItem.objects.filter(delivery=Delivery.FAILED, org_unit__isnull=False, **ctx.unit_lookup())
              .select_related("org_unit"))
    for item in failed:
        yield FindingData(org_unit=item.org_unit, obj=item, message=_(
            "Mail %(id)s for %(to)s (“%(subject)s”) could not be delivered to the LGWAN tier: %(detail)s. "
            "An operator must correct and retry it (mamoru relay retry).") % {
            "id": item.quarantine_id, "to": item.recipient_address, "subject": item.subject[:60],
            "detail": item.delivery_detail or "—"})


@policy_check(code="MAIL-002", clause="6(3)②", severity=Severity.LOW,
              title=gettext_lazy("Release request waiting for a decision"))
def releases_waiting(ctx: Any) -> Iterable[FindingData]:
    """A recipient waits for an original longer than RELEASE_WAIT_DAYS days."""
    since = timezone.make_aware(dt.datetime.combine(ctx.today - dt.timedelta(days=RELEASE_WAIT_DAYS), dt.time()))
    waiting = (ReleaseRequest.objects.filter(status=ReleaseStatus.REQUESTED, created_at__lt=since,
                                             item__org_unit__isnull=False, **ctx.unit_lookup("item__org_unit"))
               .select_related("item", "item__org_unit", "requested_by"))
    for req in waiting:
        yield FindingData(org_unit=req.item.org_unit, obj=req, message=_(
            "%(who)s asked on %(date)s for the release of %(what)s from mail %(id)s; nobody has decided yet.") % {
            "who": req.requested_by.full_name, "date": timezone.localtime(req.created_at).date().isoformat(),
            "what": req.part_label, "id": req.item.quarantine_id})
