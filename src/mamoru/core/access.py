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
    from mamoru.core.models import root_id_of

    return frozenset(root_id_of(p) for p in paths if p.strip("/"))


def user_roles(user: Any) -> frozenset[str]:
    return frozenset(g.role for g in user_grants(user))


def _unit_q(scope_path: str, grant_path: str, unit_id: int, children: bool,
            cache: dict[str, list[int] | None] | None = None) -> Q:
    if scope_path == "org_unit_path":  # denormalised path (audit trail)
        return Q(org_unit_path__startswith=grant_path) if children else Q(org_unit_path=grant_path)
    if children:
        if not scope_path:
            return Q(path__startswith=grant_path)
        # The subtree's unit ids as a list when it is small (a section, a department): the planners then
        # know how few rows they select (PostgreSQL walked the whole register in number order for one
        # section behind a subquery). A large subtree stays a subquery, never a join on the unit's path.
        # (A municipality's whole tree stays a subquery: it is large, and city-wide grants mostly use the
        # municipality shortcut of scope_filter anyway.)
        ids = None if grant_path.count("/") == 2 else _subtree_ids(grant_path, {} if cache is None else cache)
        if ids is not None:
            return Q(**{f"{scope_path}__in": ids})
        from mamoru.core.models import OrgUnit

        subtree = OrgUnit.objects.filter(path__startswith=grant_path).values("pk")
        return Q(**{f"{scope_path}__in": subtree})
    return Q(**{scope_path: unit_id}) if scope_path else Q(pk=unit_id)


SMALL_SUBTREE = 100


def _subtree_ids(path: str, cache: dict[str, list[int] | None]) -> list[int] | None:
    """The ids of the units under ``path`` (itself included) if there are at most SMALL_SUBTREE, else None.
    ``cache`` lives on the user object for the request, like the grants."""
    if path not in cache:
        from mamoru.core.models import OrgUnit

        ids = list(OrgUnit.objects.filter(path__startswith=path).values_list("pk", flat=True)[:SMALL_SUBTREE + 1])
        cache[path] = ids if len(ids) <= SMALL_SUBTREE else None
    return cache[path]


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
    scopes = [(g.unit_path, g.unit_id, g.covers_children) for g in user_grants(user) if g.role in allowed]
    if action == roles.VIEW and not named and getattr(model, "staff_can_view", True):
        home = user_home_unit(user)
        if home is not None:
            scopes.append((home[1], home[0], False))
    municipality_field = getattr(model, "municipality_field", None)
    for path, unit_id, children in _minimal(scopes):
        if children and municipality_field and path.count("/") == 2:
            # A whole municipality: one indexed equality instead of a subtree match.
            q |= Q(**{f"{municipality_field}_id": unit_id})
        else:
            q |= _unit_q(scope_path, path, unit_id, children, user.__dict__.setdefault("_mamoru_subtrees", {}))
    if action == roles.VIEW and getattr(model, "municipality_wide_view", False):
        # Municipality reference data (e.g. classification schemes): everyone of that city reads it.
        q |= Q(**{f"{scope_path}__in": sorted(user_municipality_ids(user))})
    readable_by = getattr(model, "readable_by", None)
    if action == roles.VIEW and readable_by is not None:
        # Rows a model opens to people beyond the grants (e.g. published policy documents to the whole
        # city, a procedure to the people it names): the model says which, as a Q object.
        q |= readable_by(user)
    return q


def _minimal(scopes: list[tuple[str, int, bool]]) -> list[tuple[str, int, bool]]:
    """Drop scopes contained in a subtree scope that is also present (fewer OR branches: simpler plans)."""
    subtrees = [path for path, _, children in scopes if children]
    kept: list[tuple[str, int, bool]] = []
    for scope in dict.fromkeys(scopes):
        path, _, children = scope
        if any(path.startswith(other) and (other != path or not children) for other in subtrees):
            continue
        kept.append(scope)
    return kept


def may(user: Any, action: str, model: type[Model]) -> bool:
    """Whether ``user`` may ``action`` some objects of ``model`` at all, judged from the grants alone.

    No query beyond the cached grants: for menus and buttons. It can say yes where the user's scope is
    still empty (a new section manager sees an empty register and may add to it). Models readable by a
    named list answer only for the roles that read them regardless of the list.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    overrides = getattr(model, "role_actions", None)
    allowed = roles.roles_allowing(action, overrides)
    if action == roles.VIEW:
        if getattr(model, "self_lookup", None):
            return True
        if getattr(model, "scope_path", None) is None:
            return roles.VIEW not in (overrides or {}) or bool(allowed & user_roles(user))
        if getattr(model, "municipality_wide_view", False) and user_municipality_ids(user):
            return True
        if getattr(model, "readable_by", None) and user_municipality_ids(user):
            return True  # e.g. published policy documents: everyone of the city reads some
        if getattr(model, "named_readers", None):
            allowed = frozenset(getattr(model, "named_reader_roles", frozenset()))
        elif getattr(model, "staff_can_view", True) and user_home_unit(user) is not None:
            return True
    return bool(allowed & user_roles(user))


def can(user: Any, action: str, obj: Model) -> bool:
    """Whether ``user`` may ``action`` this saved object (one query)."""
    return type(obj)._default_manager.restrict(user, action).filter(pk=obj.pk).exists()  # type: ignore[attr-defined]


def holds_role_over(user: Any, role_codes: frozenset[str], unit_path: str) -> bool:
    """Whether ``user`` holds one of ``role_codes`` on the unit at ``unit_path`` (directly, or on an ancestor
    whose grant covers its children): e.g. the approver a city configured for quarantine releases."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(g.role in role_codes and (unit_path == g.unit_path
                                         or (g.covers_children and unit_path.startswith(g.unit_path)))
               for g in user_grants(user))


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
