"""Write-side operations of the core app (keyword-only, validated, atomic)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mamoru.core import roles
from mamoru.core.choices import ScopeCategory, UnitKind
from mamoru.core.models import OrgUnit, Person, Role, RoleAssignment


def roles_sync() -> int:
    """Create or update the Role rows from the permission table. Returns how many were created."""
    created = 0
    for order, spec in enumerate(roles.ROLES):
        _, was_created = Role.objects.update_or_create(
            code=spec.code, defaults={"name": spec.name, "duty": spec.duty, "sort_order": order})
        created += int(was_created)
    return created


@transaction.atomic
def orgunit_create(*, name: str, code: str, kind: str, parent: OrgUnit | None = None,
                   scope_category: str = ScopeCategory.MAYOR, in_scope: bool = True, name_kana: str = "",
                   sort_order: int = 0) -> OrgUnit:
    unit = OrgUnit(name=name, code=code, kind=kind, parent=parent, scope_category=scope_category,
                   in_scope=in_scope, name_kana=name_kana, sort_order=sort_order)
    unit.full_clean()
    unit.save()
    return unit


@transaction.atomic
def person_create(*, full_name: str, org_unit: OrgUnit, user: Any = None, **fields: Any) -> Person:
    person = Person(full_name=full_name, org_unit=org_unit, user=user, **fields)
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def role_assign(*, person: Person, role: str | Role, org_unit: OrgUnit, covers_children: bool = True,
                valid_from: Any = None, valid_until: Any = None, note: str = "") -> RoleAssignment:
    role_obj = role if isinstance(role, Role) else Role.objects.get(code=role)
    assignment = RoleAssignment(person=person, role=role_obj, org_unit=org_unit, covers_children=covers_children,
                                valid_from=valid_from, valid_until=valid_until, note=note)
    assignment.full_clean()
    assignment.save()
    return assignment


def municipality_create(*, name: str, code: str) -> OrgUnit:
    return orgunit_create(name=name, code=code, kind=UnitKind.MUNICIPALITY)
