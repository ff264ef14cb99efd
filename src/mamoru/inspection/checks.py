"""Policy checks of self-inspection and audit (INSP-…): seed §7 (audit, self-inspection) and §8 (review)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check
from mamoru.inspection.choices import ActionStatus, AssignmentStatus, AuditFindingStatus, CampaignStatus
from mamoru.inspection.models import Assignment, AuditFinding, CorrectiveAction

ACTION_PLAN_DAYS = 30


@policy_check(code="INSP-001", clause="7", severity=Severity.HIGH,
              title=gettext_lazy("Corrective action of an audit finding overdue"))
def actions_overdue(ctx: Any) -> Iterable[FindingData]:
    """A corrective action past its due date that is not done (or was returned after follow-up)."""
    late = (CorrectiveAction.objects.filter(due_on__lt=ctx.today, status__in=[ActionStatus.PLANNED,
                                                                              ActionStatus.IN_PROGRESS],
                                            **ctx.unit_lookup("finding__org_unit"))
            .select_related("finding", "finding__org_unit", "finding__engagement", "owner"))
    for action in late:
        yield FindingData(org_unit=action.finding.org_unit, obj=action, message=_(
            "The corrective action for audit finding #%(n)d “%(finding)s” (%(audit)s) was due on %(due)s and "
            "is not done; owner: %(owner)s.") % {
            "n": action.finding.number, "finding": action.finding.title, "audit": action.finding.engagement.title,
            "due": action.due_on.isoformat(), "owner": action.owner.full_name})


@policy_check(code="INSP-002", clause="7", severity=Severity.MEDIUM,
              title=gettext_lazy("Self-inspection not submitted by its due date"))
def self_inspection_overdue(ctx: Any) -> Iterable[FindingData]:
    """Per section: checklists of an open campaign still unsubmitted after their due date."""
    rows = (Assignment.objects.filter(campaign__status=CampaignStatus.OPEN, due_on__lt=ctx.today,
                                      **ctx.unit_lookup())
            .exclude(status=AssignmentStatus.SUBMITTED).values("org_unit", "campaign").annotate(n=Count("id"))
            .order_by("org_unit", "campaign"))
    from mamoru.core.models import OrgUnit
    from mamoru.inspection.models import Campaign

    units = OrgUnit.objects.in_bulk({r["org_unit"] for r in rows})
    campaigns = Campaign.objects.in_bulk({r["campaign"] for r in rows})
    for r in rows:
        unit, campaign = units[r["org_unit"]], campaigns[r["campaign"]]
        yield FindingData(org_unit=unit, obj=campaign, object_id=f"{campaign.pk}-{unit.pk}", message=_(
            "%(unit)s: %(n)d self-inspection checklists of %(campaign)s are not submitted; they were due on "
            "%(due)s.") % {"unit": unit.name, "n": r["n"], "campaign": campaign.title,
                          "due": campaign.due_on.isoformat()})


@policy_check(code="INSP-003", clause="7", severity=Severity.MEDIUM,
              title=gettext_lazy("Audit finding without a corrective action"))
def findings_without_action(ctx: Any) -> Iterable[FindingData]:
    """An open audit finding with no corrective action planned ACTION_PLAN_DAYS days after it was recorded."""
    from django.utils import timezone

    since = timezone.make_aware(dt.datetime.combine(ctx.today - dt.timedelta(days=ACTION_PLAN_DAYS), dt.time()))
    found = (AuditFinding.objects.filter(status=AuditFindingStatus.OPEN, created_at__lt=since, actions__isnull=True,
                                         **ctx.unit_lookup())
             .select_related("org_unit", "engagement"))
    for finding in found:
        yield FindingData(org_unit=finding.org_unit, obj=finding, message=_(
            "Audit finding #%(n)d “%(title)s” (%(audit)s) was recorded on %(date)s; %(unit)s has planned no "
            "corrective action yet.") % {
            "n": finding.number, "title": finding.title, "audit": finding.engagement.title,
            "date": timezone.localtime(finding.created_at).date().isoformat(), "unit": finding.org_unit.name})
