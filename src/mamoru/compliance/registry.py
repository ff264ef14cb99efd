"""The policy-check registry (architecture rule 5): the policy, clause by clause, as small functions.

An app registers its checks in its ``checks.py``, imported from its ``AppConfig.ready()``::

    @policy_check(code="CORE-003", clause="6(1)", severity=Severity.MEDIUM,
                  title=gettext_lazy("In-scope section without a section manager"))
    def sections_without_manager(ctx: CheckContext) -> Iterable[FindingData]:
        for unit in ctx.units().filter(kind="section"):
            yield FindingData(org_unit=unit, obj=unit, message=gettext("…"))

A check only reads; :func:`mamoru.compliance.services.checks_run` turns what it yields into findings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from mamoru.compliance.choices import Severity

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

    from mamoru.core.models import OrgUnit

CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*-\d{3}$")


@dataclass(frozen=True)
class CheckContext:
    """What a check is asked about: one municipality (a root OrgUnit) or all (None), on ``today``."""

    today: dt.date
    municipality: OrgUnit | None = None

    def units(self) -> QuerySet[OrgUnit]:
        """Org units within the run's scope (every unit when no municipality is given)."""
        from mamoru.core.models import OrgUnit

        qs = OrgUnit.objects.all()
        return qs.filter(path__startswith=self.municipality.path) if self.municipality is not None else qs

    def municipalities(self) -> QuerySet[OrgUnit]:
        return self.units().filter(parent__isnull=True)

    def unit_lookup(self, prefix: str = "org_unit") -> dict[str, Any]:
        """Filter kwargs restricting another model to the run's scope, e.g. ``**ctx.unit_lookup()``."""
        if self.municipality is None:
            return {}
        return {f"{prefix}__path__startswith": self.municipality.path}


@dataclass(frozen=True)
class FindingData:
    """One problem a check reports. Give ``obj`` (a saved model instance) or object_type/id/repr.

    ``severity`` overrides the check's default for this one finding (e.g. a missing CISO is worse
    than a missing committee member).
    """

    org_unit: OrgUnit
    message: str
    obj: Model | None = field(default=None, compare=False)
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""
    severity: str | None = None

    def __post_init__(self) -> None:
        if self.org_unit is None or self.org_unit.pk is None:
            raise ValueError("FindingData needs a saved org_unit")
        if not str(self.message).strip():
            raise ValueError("FindingData needs a message")
        if self.severity is not None and self.severity not in Severity.values:
            raise ValueError(f"unknown severity {self.severity!r}")
        object.__setattr__(self, "message", str(self.message))
        if self.obj is not None:
            if self.obj.pk is None:
                raise ValueError("FindingData.obj must be saved")
            object.__setattr__(self, "object_type", self.object_type or self.obj._meta.label_lower)
            object.__setattr__(self, "object_id", self.object_id or str(self.obj.pk))
            object.__setattr__(self, "object_repr", self.object_repr or str(self.obj))
        object.__setattr__(self, "object_id", str(self.object_id))
        object.__setattr__(self, "object_repr", str(self.object_repr)[:200])
        if len(self.object_type) > 100 or len(self.object_id) > 64:
            raise ValueError("FindingData: object_type is at most 100 and object_id 64 characters")

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity within one check: (object_type, object_id, org_unit id)."""
        return (self.object_type, self.object_id, self.org_unit.pk)


CheckFunction = Callable[[CheckContext], Iterable[FindingData]]


@dataclass(frozen=True)
class PolicyCheck:
    code: str
    clause: str
    severity: str
    title: Any
    func: CheckFunction

    @property
    def origin(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def run(self, ctx: CheckContext) -> list[FindingData]:
        return list(self.func(ctx))


REGISTRY: dict[str, PolicyCheck] = {}


class UnknownCheck(KeyError):
    pass


def policy_check(*, code: str, clause: str, severity: str, title: Any) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func`` as the check ``code``. Codes are unique: a second registration raises."""
    if not CODE_RE.match(code):
        raise ImproperlyConfigured(f"policy check code {code!r} must look like 'CORE-001'")
    if severity not in Severity.values:
        raise ImproperlyConfigured(f"policy check {code}: unknown severity {severity!r}")

    def register(func: CheckFunction) -> CheckFunction:
        check = PolicyCheck(code=code, clause=clause, severity=str(severity), title=title, func=func)
        existing = REGISTRY.get(code)
        # The same function imported again (e.g. a module reload) is not a conflict.
        if existing is not None and existing.origin != check.origin:
            raise ImproperlyConfigured(
                f"policy check code {code} is registered twice: {existing.origin} and {check.origin}")
        REGISTRY[code] = check
        return func

    return register


def get_checks(codes: Iterable[str] | None = None) -> list[PolicyCheck]:
    """The registered checks (all, or those named), in code order. Unknown codes raise UnknownCheck."""
    if codes is None:
        return [REGISTRY[c] for c in sorted(REGISTRY)]
    wanted = sorted({c.strip().upper() for c in codes})
    unknown = [c for c in wanted if c not in REGISTRY]
    if unknown:
        raise UnknownCheck(", ".join(unknown))
    return [REGISTRY[c] for c in wanted]


def check_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.code} {c.title}") for c in get_checks()]
