"""Read-side queries of the core app. Every one starts from a restricted queryset."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from mamoru.core.models import AuditEntry, OrgUnit, Person, RoleAssignment


def home_counts(user: Any) -> dict[str, int]:
    from mamoru.compliance.models import Finding

    return {
        "units": OrgUnit.objects.restrict(user, "view").count(),
        "sections_in_scope": OrgUnit.objects.restrict(user, "view").filter(kind="section", in_scope=True).count(),
        "people": Person.objects.restrict(user, "view").filter(is_active=True).count(),
        "assignments": RoleAssignment.objects.restrict(user, "view").active().count(),
        "open_findings": Finding.objects.restrict(user, "view").filter(status="open").count(),
    }


def orgunit_list(user: Any) -> QuerySet[OrgUnit]:
    return (OrgUnit.objects.restrict(user, "view")
            .annotate(people_count=Count("people", distinct=True)).order_by("path"))


def person_list(user: Any) -> QuerySet[Person]:
    return Person.objects.restrict(user, "view").select_related("org_unit", "user")


def assignment_list(user: Any) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.restrict(user, "view").select_related("person", "role", "org_unit")


def audit_entries(user: Any, action: str = "view") -> QuerySet[AuditEntry]:
    return AuditEntry.objects.restrict(user, action)


def object_history(user: Any, obj: Any) -> QuerySet[AuditEntry]:
    return audit_entries(user).filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
