"""Policy checks of the policy library (POLICY-…): acknowledgements, exceptions, reviews (seed §3, §7, §8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check
from mamoru.core.models import OrgUnit
from mamoru.policy.choices import ExceptionStatus, VersionStatus
from mamoru.policy.models import Acknowledgement, PolicyDocument, PolicyException, PolicyVersion


def _in_city(qs: Any, ctx: Any, path: str) -> Any:
    city = getattr(ctx, "municipality", None)
    return qs.filter(**{path: city}) if city is not None else qs


def _exceptions(ctx: Any) -> Any:
    city = getattr(ctx, "municipality", None)
    qs = PolicyException.objects.select_related("org_unit")
    return qs.filter(org_unit__path__startswith=city.path) if city is not None else qs


@policy_check(code="POLICY-001", clause="3", severity=Severity.LOW,
              title=gettext_lazy("Policy version not acknowledged in time"))
def acknowledgements_overdue(ctx: Any) -> Iterable[FindingData]:
    """One finding per section and version with people who have not acknowledged past the date."""
    late = (_in_city(Acknowledgement.objects, ctx, "version__document__municipality")
            .filter(acknowledged_at__isnull=True, version__acknowledge_by__lt=ctx.today)
            .values("org_unit", "version").annotate(n=Count("pk")).order_by("org_unit", "version"))
    units = OrgUnit.objects.in_bulk({row["org_unit"] for row in late})
    versions = PolicyVersion.objects.select_related("document").in_bulk({row["version"] for row in late})
    for row in late:
        version = versions[row["version"]]
        yield FindingData(org_unit=units[row["org_unit"]], obj=version, message=_(
            "%(n)d people of %(unit)s have not acknowledged %(version)s (due %(due)s).") % {
            "n": row["n"], "unit": units[row["org_unit"]].name, "version": version,
            "due": version.acknowledge_by.isoformat()})


@policy_check(code="POLICY-002", clause="7", severity=Severity.HIGH,
              title=gettext_lazy("Exception still active after its end date"))
def exceptions_expired(ctx: Any) -> Iterable[FindingData]:
    for exc in _exceptions(ctx).filter(status=ExceptionStatus.APPROVED, ends_on__lt=ctx.today):
        yield FindingData(org_unit=exc.org_unit, obj=exc, message=_(
            "The exception “%(title)s” ended on %(end)s but is still active: close it or renew it.")
            % {"title": exc.title, "end": exc.ends_on.isoformat()})


@policy_check(code="POLICY-003", clause="7", severity=Severity.HIGH,
              title=gettext_lazy("Emergency exception not reported"))
def emergency_reports_missing(ctx: Any) -> Iterable[FindingData]:
    for exc in _exceptions(ctx).filter(emergency=True, reported_at__isnull=True, report_due_on__lt=ctx.today):
        yield FindingData(org_unit=exc.org_unit, obj=exc, message=_(
            "The emergency measure “%(title)s” taken on %(acted)s was due to be reported by %(due)s.")
            % {"title": exc.title, "acted": exc.acted_on.isoformat(), "due": exc.report_due_on.isoformat()})


@policy_check(code="POLICY-004", clause="8", severity=Severity.MEDIUM,
              title=gettext_lazy("Policy document not reviewed for too long"))
def reviews_overdue(ctx: Any) -> Iterable[FindingData]:
    documents = (_in_city(PolicyDocument.objects, ctx, "municipality").select_related("municipality")
                 .annotate(last_review=Max("reviews__reviewed_on"),
                           last_published=Max("versions__published_at",
                                               filter=Q(versions__status=VersionStatus.PUBLISHED))))
    for doc in documents:
        # A review, or a new version (which was reviewed to be made), restarts the interval.
        dates = [d for d in (doc.last_review, doc.last_published.date() if doc.last_published else None) if d]
        if not dates:
            continue  # nothing published yet
        since = max(dates)
        due = _add_months(since, doc.review_months)
        if due < ctx.today:
            yield FindingData(org_unit=doc.municipality, obj=doc, message=_(
                "%(doc)s was last reviewed (or published) on %(since)s; a review was due by %(due)s.")
                % {"doc": doc.title, "since": since.isoformat(), "due": due.isoformat()})


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)
