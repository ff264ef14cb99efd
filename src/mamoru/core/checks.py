"""Policy checks of the organisation (seed §6(1) 組織体制).

「市の情報資産について、幹部…が、率先して情報セキュリティ対策を推進・管理するための組織体制を確立する。」
An organisation is only established when its roles are held, its approvers sign in securely and each
in-scope section has its own 情報セキュリティ管理者. Each check reads a few queries' worth of rows and
works out the rest in Python, however large the city.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import CheckContext, FindingData, policy_check
from mamoru.core import roles
from mamoru.core.choices import UnitKind
from mamoru.core.models import Person, Role, RoleAssignment, root_id_of

CLAUSE_ORGANISATION = "6(1)"
# A missing CISO or 統括 leaves nobody with final authority: worse than any other empty role.
HIGH_WHEN_MISSING = roles.ORG_ADMIN


@policy_check(code="CORE-001", clause=CLAUSE_ORGANISATION, severity=Severity.MEDIUM,
              title=_("A role of the policy that nobody holds"))
def roles_nobody_holds(ctx: CheckContext) -> Iterator[FindingData]:
    """Per municipality, each role of the policy that no active assignment within the city holds."""
    municipalities = list(ctx.municipalities().order_by("path"))
    if not municipalities:
        return
    held: defaultdict[int, set[str]] = defaultdict(set)
    for code, path in (RoleAssignment.objects.active(ctx.today).filter(**ctx.unit_lookup())
                       .values_list("role__code", "org_unit__path")):
        held[root_id_of(path)].add(code)
    role_rows = {r.code: r for r in Role.objects.all()}
    for city in municipalities:
        for spec in roles.ROLES:
            if spec.code in held[city.pk]:
                continue
            row = role_rows.get(spec.code)
            subject = {"obj": row} if row is not None else {
                "object_type": Role._meta.label_lower, "object_id": spec.code, "object_repr": spec.name}
            yield FindingData(
                org_unit=city,
                message=gettext("No one holds the role %(role)s.") % {"role": spec.name},
                severity=Severity.HIGH if spec.code in HIGH_WHEN_MISSING else Severity.MEDIUM,
                **subject,
            )


def _users_with_confirmed_device(user_ids: set[int]) -> set[int]:
    """Users among ``user_ids`` with a confirmed django-otp device of any kind (one query per kind)."""
    from django_otp import device_classes

    found: set[int] = set()
    if not user_ids:
        return found
    for model in device_classes():
        found.update(model.objects.filter(user_id__in=user_ids, confirmed=True)
                     .values_list("user_id", flat=True))
    return found


@policy_check(code="CORE-002", clause=CLAUSE_ORGANISATION, severity=Severity.HIGH,
              title=_("An approver without multi-factor authentication"))
def approvers_without_mfa(ctx: CheckContext) -> Iterator[FindingData]:
    """A person whose active role lets them approve, whose user account has no confirmed MFA device.

    The finding belongs to the widest unit the person approves for (the shallowest assignment), so
    those responsible for that unit see it. People without an active user account cannot sign in
    and so cannot approve anything: they are left out.
    """
    approving = roles.roles_allowing(roles.APPROVE)
    assignments = list(
        RoleAssignment.objects.active(ctx.today)
        .filter(role__code__in=approving, person__user__isnull=False, person__user__is_active=True,
                **ctx.unit_lookup())
        .select_related("person", "org_unit")
        .order_by("person_id", "org_unit__depth", "org_unit__path", "pk")
    )
    widest: dict[int, RoleAssignment] = {}
    for a in assignments:
        widest.setdefault(a.person_id, a)
    with_device = _users_with_confirmed_device({a.person.user_id for a in widest.values()})
    for a in widest.values():
        person: Person = a.person
        if person.user_id in with_device:
            continue
        yield FindingData(
            org_unit=a.org_unit, obj=person,
            message=gettext("%(person)s may approve in %(unit)s but has no multi-factor authentication device.")
            % {"person": person.full_name, "unit": a.org_unit.name},
        )


@policy_check(code="CORE-003", clause=CLAUSE_ORGANISATION, severity=Severity.MEDIUM,
              title=_("An in-scope section without its own information security manager"))
def sections_without_manager(ctx: CheckContext) -> Iterator[FindingData]:
    """An in-scope section (課室) with no active 情報セキュリティ管理者 assigned on the section itself.

    A department head's assignment covering the section does not count: the policy asks for a
    管理者 per section.
    """
    managed = set(
        RoleAssignment.objects.active(ctx.today)
        .filter(role__code="section_manager", org_unit__kind=UnitKind.SECTION, **ctx.unit_lookup())
        .values_list("org_unit_id", flat=True))
    sections = ctx.units().filter(kind=UnitKind.SECTION, in_scope=True).order_by("path")
    for section in sections:
        if section.pk in managed:
            continue
        yield FindingData(
            org_unit=section, obj=section,
            message=gettext("The section %(unit)s has no information security manager of its own.")
            % {"unit": section.name},
        )
