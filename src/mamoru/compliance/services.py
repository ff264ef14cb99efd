"""Write-side operations of the compliance app: running the policy checks, accepting findings."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamoru.compliance import registry
from mamoru.compliance.choices import SEVERITY_ORDER, FindingStatus
from mamoru.compliance.models import Finding
from mamoru.compliance.registry import CheckContext, FindingData, PolicyCheck
from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditChainHead, OrgUnit, Person

FindingKey = tuple[str, str, str, int]  # code, object_type, object_id, org_unit id


@dataclass
class ReportedFinding:
    """One finding a check reported in this run, with the status it has (or would have) afterwards."""

    check: PolicyCheck
    data: FindingData
    status: str
    finding: Finding | None = None  # the row; None for a new finding when the run did not save

    @property
    def code(self) -> str:
        return self.check.code

    @property
    def severity(self) -> str:
        return self.data.severity or self.check.severity

    def as_dict(self) -> dict[str, Any]:
        d = self.data
        obj = None
        if d.object_type or d.object_id:
            obj = {"type": d.object_type, "id": d.object_id, "repr": d.object_repr}
        return {
            "id": self.finding.pk if self.finding is not None else None,
            "code": self.check.code,
            "clause": self.check.clause,
            "severity": self.severity,
            "title": str(self.check.title),
            "message": d.message,
            "object": obj,
            "org_unit": {"id": d.org_unit.pk, "name": d.org_unit.name},
            "status": self.status,
        }


@dataclass(frozen=True)
class CheckError:
    code: str
    error: str
    traceback: str = ""


@dataclass
class RunResult:
    codes: list[str]
    saved: bool
    reported: list[ReportedFinding] = field(default_factory=list)
    errors: list[CheckError] = field(default_factory=list)
    created: int = 0
    reopened: int = 0
    changed: int = 0
    resolved: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def open(self) -> list[ReportedFinding]:
        return [r for r in self.reported if r.status == FindingStatus.OPEN]

    def failing(self, threshold: str | None) -> list[ReportedFinding]:
        """Open findings of ``threshold`` severity or worse (none when no threshold is given)."""
        if threshold is None:
            return []
        floor = SEVERITY_ORDER[threshold]
        return [r for r in self.open if SEVERITY_ORDER[r.severity] >= floor]


def _collect(checks: list[PolicyCheck], ctx: CheckContext,
             result: RunResult) -> tuple[list[str], dict[FindingKey, tuple[PolicyCheck, FindingData]]]:
    """Run each check; a check that raises is recorded as an error and the others go on."""
    ran: list[str] = []
    reported: dict[FindingKey, tuple[PolicyCheck, FindingData]] = {}
    for check in checks:
        try:
            with transaction.atomic():  # a savepoint: a failed query does not poison the run's transaction
                items = check.run(ctx)
        except Exception as exc:  # one broken check must not stop the others
            result.errors.append(CheckError(code=check.code, error=f"{type(exc).__name__}: {exc}",
                                            traceback=traceback.format_exc()))
            continue
        ran.append(check.code)
        for item in items:
            reported.setdefault((check.code, *item.key), (check, item))
    return ran, reported


def _existing(ran: list[str], codes: Iterable[str] | None, municipality: OrgUnit | None) -> dict[FindingKey, Finding]:
    scope = Q(code__in=ran)
    if codes is None:
        # A full run also settles findings of checks that no longer exist: nothing reports them now.
        scope |= ~Q(code__in=list(registry.REGISTRY))
    qs = Finding.objects.filter(scope).select_related("org_unit")
    if municipality is not None:
        qs = qs.filter(org_unit__path__startswith=municipality.path)
    return {(f.code, f.object_type, f.object_id, f.org_unit_id): f for f in qs}


def _save(finding: Finding) -> None:
    finding.full_clean()
    finding.save()


def checks_run(*, codes: Iterable[str] | None = None, municipality: OrgUnit | None = None, save: bool = True,
               today: Any = None) -> RunResult:
    """Run the registered checks (all, or ``codes``) and bring the Finding rows up to date.

    New → open (first_seen = last_seen = now); still reported → last_seen moves (a plain UPDATE: no
    audit entry for a mere sighting); open and no longer reported → resolved; accepted stays accepted;
    resolved and reported again → re-opened. Status and content changes go through save(), so the
    audit trail records them. ``municipality`` limits the run to one city; ``save=False`` computes the
    same result and writes nothing. Unknown codes raise :class:`registry.UnknownCheck`.
    """
    checks = registry.get_checks(codes)
    now = timezone.now()
    ctx = CheckContext(today=today or timezone.localdate(), municipality=municipality)
    result = RunResult(codes=[c.code for c in checks], saved=save)
    # Messages are stored in the installation's language, whoever runs the checks (web or cron).
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        ran, reported = _collect(checks, ctx, result)
        if save:
            # Two runs at once (cron and the web button) take turns from here: each finding's save locks
            # the audit chain head anyway, so taking it first costs nothing and makes the second run
            # read the first one's findings instead of inserting them again.
            AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        existing = _existing(ran, codes, municipality)
        sighted: list[int] = []
        for key, (check, data) in reported.items():
            finding = existing.pop(key, None)
            severity = data.severity or check.severity
            if finding is None:
                result.created += 1
                if save:
                    finding = Finding(code=check.code, clause=check.clause, severity=severity,
                                      object_type=data.object_type, object_id=data.object_id,
                                      object_repr=data.object_repr, org_unit=data.org_unit, message=data.message,
                                      status=FindingStatus.OPEN, first_seen=now, last_seen=now)
                    _save(finding)
                result.reported.append(ReportedFinding(check, data, FindingStatus.OPEN, finding))
                continue
            updates: dict[str, Any] = {"clause": check.clause, "severity": severity, "message": data.message,
                                       "object_repr": data.object_repr}
            updates = {k: v for k, v in updates.items() if getattr(finding, k) != v}
            if finding.status == FindingStatus.RESOLVED:
                updates.update(status=FindingStatus.OPEN, resolved_at=None, accepted_reason="",
                               accepted_at=None, accepted_by=None)
                result.reopened += 1
            elif updates:
                result.changed += 1
            status = updates.get("status", finding.status)
            if save:
                if updates:
                    for k, v in updates.items():
                        setattr(finding, k, v)
                    finding.last_seen = now
                    _save(finding)
                else:
                    sighted.append(finding.pk)
            result.reported.append(ReportedFinding(check, data, status, finding))
        for finding in existing.values():  # no longer reported
            if finding.status != FindingStatus.OPEN:
                continue
            result.resolved += 1
            if save:
                finding.status, finding.resolved_at = FindingStatus.RESOLVED, now
                _save(finding)
        for start in range(0, len(sighted), 500):
            Finding.objects.filter(pk__in=sighted[start:start + 500]).update(last_seen=now)
    result.reported.sort(key=lambda r: (-SEVERITY_ORDER[r.severity], r.code, r.data.org_unit.path,
                                        r.data.object_repr, r.data.object_id))
    return result


def finding_accept(*, finding: Finding, reason: str, actor: Any) -> Finding:
    """Accept an open finding (risk accepted, with a reason). Only users with "approve" on it may."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for accepting this finding.")})
    with transaction.atomic():
        locked = (Finding.objects.restrict(actor, "approve").select_for_update(of=("self",))
                  .filter(pk=finding.pk).first())
        if locked is None:
            raise PermissionDenied(_("You may not accept this finding."))
        if locked.status != FindingStatus.OPEN:
            raise ValidationError(_("Only an open finding can be accepted."))
        if (locked.object_type == Person._meta.label_lower and locked.object_id.isdigit()
                and Person.objects.filter(pk=int(locked.object_id), user=actor).exists()):
            raise ValidationError(_("A finding about yourself must be accepted by someone else."))
        locked.status = FindingStatus.ACCEPTED
        locked.accepted_reason = reason
        locked.accepted_at = timezone.now()
        locked.accepted_by = actor
        _save(locked)
        audit.event(AuditEvent.APPROVAL, obj=locked, actor=actor,
                    details={"code": locked.code, "status": FindingStatus.ACCEPTED, "reason": reason})
    return locked
