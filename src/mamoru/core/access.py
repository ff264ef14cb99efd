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


# What a user's access is computed from (grants, person record, unit subtrees) is cached on the user object
# for the request, and across requests in Django's cache under the access generation: a number that
# triggers change on every write to the tables it is read from (core migration 0002). Reading the number
# is one primary-key lookup per request, instead of a query each for the grants, the person and subtrees.
GENERATION = "core_access_generation"
CACHE_TIMEOUT = 300  # seconds: an entry outlives no more than this (e.g. a database restored from a backup)
REQUEST_CACHE = ("_mamoru_generation", "_mamoru_access", "_mamoru_subtrees")


@dataclass(frozen=True)
class _UserAccess:
    grants: tuple[Grant, ...]
    person: tuple[int, str, str, bool] | None  # (unit id, unit path, name, active) of the user's person record


def access_generation(user: Any) -> str | None:
    """The access generation, read once per request (cached on the user object); None where the database
    keeps none (then nothing is cached across requests)."""
    cached = user.__dict__.get("_mamoru_generation", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    from django.db import connection

    from mamoru.core import generations

    value = generations.read(GENERATION, connection)
    # The day is part of the key: grants start and end on dates, without a write.
    number = None if value is None else f"{value}:{today().isoformat()}"
    user.__dict__["_mamoru_generation"] = number
    return number


def _shared(user: Any, key: str, compute: Any) -> Any:
    """``compute()``, from Django's cache while the access generation has not changed."""
    number = access_generation(user)
    if number is None:
        return compute()
    from django.core.cache import cache

    full_key = f"mamoru:access:{number}:{key}"
    hit = cache.get(full_key)
    if hit is None:
        hit = (compute(),)  # wrapped: None is a value here (no person record, a large subtree)
        cache.set(full_key, hit, CACHE_TIMEOUT)
    return hit[0]


def cached_for_user(user: Any, name: str, compute: Any) -> Any:
    """``compute()`` for ``user``, cached like the grants. Only for values computed from what the access
    generation covers (units, people, roles, assignments) and the user's own flags, e.g. the units a user
    may view: the key holds the user, their superuser and active flags, and the generation."""
    if user is None or user.pk is None or not user.is_authenticated:
        return compute()
    return _shared(user, f"{name}:{user.pk}:{int(user.is_superuser)}{int(user.is_active)}", compute)


def _user_access(user: Any) -> _UserAccess:
    cached = user.__dict__.get("_mamoru_access")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    access = cached_for_user(user, "user", lambda: _read_user_access(user))
    user.__dict__["_mamoru_access"] = access
    return access  # type: ignore[no-any-return]


def _read_user_access(user: Any) -> _UserAccess:
    from mamoru.core.models import Person, RoleAssignment

    grants = tuple(
        Grant(role=code, unit_id=unit_id, unit_path=path, covers_children=children)
        for code, unit_id, path, children in RoleAssignment.objects.active()
        .filter(person__user=user)
        .values_list("role__code", "org_unit_id", "org_unit__path", "covers_children")
    )
    person = (Person.objects.filter(user=user).order_by()
              .values_list("org_unit_id", "org_unit__path", "full_name", "is_active").first())
    return _UserAccess(grants=grants, person=person)


def user_grants(user: Any) -> tuple[Grant, ...]:
    """Active grants of ``user`` (today's: an assignment's validity dates are inclusive)."""
    return _user_access(user).grants


def user_home_unit(user: Any) -> tuple[int, str] | None:
    """(id, path) of the unit of the user's active person record, or None."""
    row = _user_access(user).person
    return (row[0], row[1]) if row is not None and row[3] else None


def user_display_name(user: Any) -> str:
    """The name the page header shows: the person's name, else the username."""
    row = _user_access(user).person
    return row[2] if row is not None and row[2] else str(user.get_username())


def forget(user: Any) -> Any:
    """Drop what this module cached on the user object for the request (the next call reads the access
    generation again, and what changed since)."""
    for key in REQUEST_CACHE:
        user.__dict__.pop(key, None)
    return user


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


def _unit_q(scope_path: str, grant_path: str, unit_id: int, children: bool, user: Any) -> Q:
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
        ids = None if grant_path.count("/") == 2 else _subtree_ids(grant_path, user)
        if ids is not None:
            return Q(**{f"{scope_path}__in": ids})
        from mamoru.core.models import OrgUnit

        subtree = OrgUnit.objects.filter(path__startswith=grant_path).values("pk")
        return Q(**{f"{scope_path}__in": subtree})
    return Q(**{scope_path: unit_id}) if scope_path else Q(pk=unit_id)


SMALL_SUBTREE = 100


def _subtree_ids(path: str, user: Any) -> list[int] | None:
    """The ids of the units under ``path`` (itself included) if there are at most SMALL_SUBTREE, else None.
    Cached like the grants: for the request on the user object, across requests under the access generation."""
    cache: dict[str, list[int] | None] = user.__dict__.setdefault("_mamoru_subtrees", {})
    if path not in cache:
        cache[path] = _shared(user, f"subtree:{path}", lambda: _read_subtree_ids(path))
    return cache[path]


def _read_subtree_ids(path: str) -> list[int] | None:
    from mamoru.core.models import OrgUnit

    ids = list(OrgUnit.objects.filter(path__startswith=path).values_list("pk", flat=True)[:SMALL_SUBTREE + 1])
    return ids if len(ids) <= SMALL_SUBTREE else None


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
            q |= _unit_q(scope_path, path, unit_id, children, user)
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
