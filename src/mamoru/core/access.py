"""Who may do what, where. Every restricted queryset asks :func:`scope_filter`.

A grant is a role held on an org unit (optionally covering its sub-units) during its validity.
A model declares how to reach its unit (``scope_path``) and may narrow the permission table
(``role_actions``). Objects readable only by a named list declare ``named_readers`` (a lookup
to the readers' user accounts) and ``named_reader_roles`` (roles that read them anyway, in scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from mamoru.core import roles

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str
    covers_children: bool


def user_grants(user: Any) -> tuple[Grant, ...]:
    """Active grants of ``user``, cached on the user object for the request."""
    cached = getattr(user, "_mamoru_grants", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from mamoru.core.models import RoleAssignment

    grants = tuple(
        Grant(role=code, unit_id=unit_id, unit_path=path, covers_children=children)
        for code, unit_id, path, children in RoleAssignment.objects.active()
        .filter(person__user=user)
        .values_list("role__code", "org_unit_id", "org_unit__path", "covers_children")
    )
    user._mamoru_grants = grants
    return grants


def user_home_unit(user: Any) -> tuple[int, str] | None:
    cached = getattr(user, "_mamoru_home", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    from mamoru.core.models import Person

    row = (Person.objects.filter(user=user, is_active=True)
           .values_list("org_unit_id", "org_unit__path").first())
    user._mamoru_home = row
    return row


def user_municipality_ids(user: Any) -> frozenset[int]:
    """Roots of the trees the user belongs to (through their unit or any grant)."""
    paths = [g.unit_path for g in user_grants(user)]
    home = user_home_unit(user)
    if home is not None:
        paths.append(home[1])
    return frozenset(int(p.strip("/").split("/")[0]) for p in paths if p.strip("/"))


def user_roles(user: Any) -> frozenset[str]:
    return frozenset(g.role for g in user_grants(user))


def _unit_q(scope_path: str, grant_path: str, unit_id: int, children: bool) -> Q:
    if scope_path == "org_unit_path":  # denormalised path (audit trail)
        return Q(org_unit_path__startswith=grant_path) if children else Q(org_unit_path=grant_path)
    if children:
        return Q(**{f"{scope_path}__path__startswith" if scope_path else "path__startswith": grant_path})
    return Q(**{scope_path: unit_id}) if scope_path else Q(pk=unit_id)


def scope_filter(model: type[Model], user: Any, action: str) -> Q:
    """A Q object selecting the rows of ``model`` that ``user`` may ``action``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return Q()
    overrides = getattr(model, "role_actions", None)
    allowed = roles.roles_allowing(action, overrides)
    scope_path: str | None = getattr(model, "scope_path", None)
    named = getattr(model, "named_readers", None)
    q = NOTHING

    self_lookup = getattr(model, "self_lookup", None)
    if self_lookup and action == roles.VIEW:
        q |= Q(**{self_lookup: user})

    if scope_path is None:
        # Global reference data: everyone signed in reads it unless the model says otherwise;
        # other actions need a grant of an allowed role anywhere.
        if action == roles.VIEW and roles.VIEW not in (overrides or {}):
            return Q()
        return Q() if allowed & user_roles(user) else q

    if named and action == roles.VIEW:
        allowed = frozenset(getattr(model, "named_reader_roles", frozenset()))
        q |= Q(**{named: user})
    for g in user_grants(user):
        if g.role in allowed:
            q |= _unit_q(scope_path, g.unit_path, g.unit_id, g.covers_children)
    if action == roles.VIEW and getattr(model, "municipality_wide_view", False):
        # Municipality reference data (e.g. classification schemes): everyone of that city reads it.
        q |= Q(**{f"{scope_path}__in": sorted(user_municipality_ids(user))})
    if action == roles.VIEW and not named and getattr(model, "staff_can_view", True):
        home = user_home_unit(user)
        if home is not None:
            q |= _unit_q(scope_path, home[1], home[0], False)
    return q


def can(user: Any, action: str, obj: Model) -> bool:
    """Whether ``user`` may ``action`` this saved object (one query)."""
    return type(obj)._default_manager.restrict(user, action).filter(pk=obj.pk).exists()  # type: ignore[attr-defined]


def units_for(user: Any, action: str, model: type[Model]) -> Any:
    """Org units in which ``user`` may ``action`` objects of ``model`` (for create forms)."""
    from mamoru.core.models import OrgUnit

    if not user.is_authenticated:
        return OrgUnit.objects.none()
    if user.is_superuser:
        return OrgUnit.objects.all()
    allowed = roles.roles_allowing(action, getattr(model, "role_actions", None))
    q = NOTHING
    for g in user_grants(user):
        if g.role in allowed:
            q |= Q(path__startswith=g.unit_path) if g.covers_children else Q(pk=g.unit_id)
    return OrgUnit.objects.filter(q)


def record_denied(model: type[Model], user: Any, action: str, **lookup: Any) -> None:
    """Record an attempt on an existing object outside the user's scope (the caller then answers 404).

    Only attempts on objects that exist are recorded, so ordinary mistyped URLs do not fill the trail.
    """
    from django.core.exceptions import ValidationError

    from mamoru.core import audit
    from mamoru.core.choices import AuditEvent

    try:
        obj = model._base_manager.filter(**lookup).first()
    except (TypeError, ValueError, ValidationError):
        return
    if obj is not None:
        audit.event(AuditEvent.ACCESS_DENIED, obj=obj, details={"action": action})


def get_or_404(model: type[Model], user: Any, action: str, **lookup: Any) -> Any:
    """The object if ``user`` may ``action`` it; otherwise 404 — never a hint that it exists."""
    from django.http import Http404
    from django.utils.translation import gettext as _

    obj = model._default_manager.restrict(user, action).filter(**lookup).first()  # type: ignore[attr-defined]
    if obj is None:
        record_denied(model, user, action, **lookup)
        raise Http404(_("Not found, or you do not have access to it."))
    return obj


def today() -> Any:
    return timezone.localdate()
