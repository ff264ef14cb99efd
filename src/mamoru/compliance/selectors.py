"""Read-side queries of the compliance app. Every one starts from a restricted queryset."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Case, IntegerField, QuerySet, Value, When

from mamoru.compliance.choices import SEVERITY_ORDER, FindingStatus
from mamoru.compliance.models import Finding
from mamoru.core import roles
from mamoru.core.access import user_grants, user_roles
from mamoru.core.models import AuditEntry, OrgUnit, root_id_of
from mamoru.core.selectors import object_history

STATUS_ORDER = {FindingStatus.OPEN: 0, FindingStatus.ACCEPTED: 1, FindingStatus.RESOLVED: 2}


def finding_list(user: Any, action: str = "view") -> QuerySet[Finding]:
    """Findings ``user`` may ``action``: open first, worst first."""
    return (Finding.objects.restrict(user, action).select_related("org_unit")
            .annotate(status_rank=Case(*[When(status=s, then=Value(i)) for s, i in STATUS_ORDER.items()],
                                       default=Value(9), output_field=IntegerField()),
                      severity_rank=Case(*[When(severity=s, then=Value(i)) for s, i in SEVERITY_ORDER.items()],
                                         default=Value(-1), output_field=IntegerField()))
            .order_by("status_rank", "-severity_rank", "code", "org_unit__path", "object_repr", "pk"))


def finding_history(user: Any, finding: Finding) -> QuerySet[AuditEntry]:
    """The finding's entries in the audit trail, as far as ``user`` may read the trail."""
    return object_history(user, finding).order_by("-seq")


def finding_subject(user: Any, finding: Finding) -> Any:
    """The object a finding is about, if it still exists and ``user`` may view it (else None)."""
    if not finding.object_type or not finding.object_id:
        return None
    try:
        model = apps.get_model(finding.object_type)
    except (LookupError, ValueError):
        return None
    manager = model._default_manager
    if not hasattr(manager, "restrict") or not hasattr(model, "get_absolute_url"):
        return None
    try:
        return manager.restrict(user, "view").filter(pk=finding.object_id).first()
    except (ValueError, TypeError):
        return None


def can_approve(user: Any, finding: Finding) -> bool:
    return Finding.objects.restrict(user, "approve").filter(pk=finding.pk).exists()


def can_run_checks(user: Any) -> bool:
    """Only the CISO and 統括 (or a superuser) run the checks from the web."""
    return bool(user.is_authenticated and (user.is_superuser or user_roles(user) & roles.ORG_ADMIN))


def run_scopes(user: Any) -> list[OrgUnit | None]:
    """What a web "run now" covers for ``user``: their own municipalities ([None] = all, for a superuser)."""
    if user.is_superuser:
        return [None]
    root_ids = {root_id_of(g.unit_path) for g in user_grants(user) if g.role in roles.ORG_ADMIN}
    return list(OrgUnit.objects.filter(pk__in=root_ids, parent__isnull=True).order_by("path"))
