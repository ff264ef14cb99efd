"""The authorization matrix: every route × every persona → the status that persona must get.

Every URL pattern of the project must appear here (tests/authz/test_matrix.py fails otherwise), so a
new route cannot ship without someone deciding who may use it. ``ALL`` means every persona of
tests/personas.py; anonymous visitors are checked separately (sign-in page or 401/403 for the API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.personas import PERSONAS

ALL = frozenset(PERSONAS)
AUDIT = frozenset({"ciso", "chief", "auditor", "other_ciso"})
ORG_ADMIN = frozenset({"ciso", "chief", "other_ciso"})
CITY_WIDE = frozenset({"ciso", "chief", "auditor"})
SEC_A = frozenset({"ciso", "chief", "auditor", "dept_head_a", "manager_a", "sysadmin_a", "staff_a", "contractor"})


@dataclass(frozen=True)
class Route:
    allowed: frozenset[str]
    ok: int = 200
    denied: int = 404
    method: str = "get"
    kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda w: {})
    data: Callable[[Any], dict[str, Any]] | None = None
    anonymous: int | None = 302  # None: not checked (e.g. the sign-in page itself)
    query: str = ""

    def expected(self, persona: str) -> int:
        return self.ok if persona in self.allowed else self.denied


def unit(key: str) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"pk": w.units[key].pk}


def person(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"pk": w.people[name].pk}


def assignment_of(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"pk": w.people[name].assignments.get().pk}


def finding_on_sec_a(w: Any) -> dict[str, Any]:
    return {"pk": w.finding_sec_a.pk}


def token_of_ciso(w: Any) -> dict[str, Any]:
    return {"pk": w.ciso_token.pk}


# The home, lists and own-account pages are open to every signed-in persona; lists filter by scope.
ROUTES: dict[str, Route] = {
    "core:home": Route(ALL),
    "core:login": Route(frozenset(), denied=302, anonymous=None),  # signed-in users are sent home
    "core:logout": Route(ALL, ok=302, method="post"),
    "core:password_change": Route(ALL),
    "core:account_security": Route(ALL),
    "core:recovery_codes_regenerate": Route(ALL, method="post"),
    # MFA steps: every persona here has already passed MFA, so the steps send them on (302); the QR image
    # exists only while an enrolment is in progress (tests/core/test_auth_mfa.py covers the steps themselves).
    "core:mfa_verify": Route(frozenset(), denied=302),
    "core:mfa_enrol": Route(frozenset(), denied=302),
    "core:mfa_recovery": Route(frozenset(), denied=302),
    "core:mfa_qr": Route(frozenset(), denied=404),
    "core:orgunit_list": Route(ALL),
    "core:orgunit_detail": Route(SEC_A, kwargs=unit("sec_a")),
    "core:orgunit_create": Route(ORG_ADMIN),
    "core:orgunit_edit": Route(frozenset({"ciso", "chief"}), kwargs=unit("sec_a")),
    "core:person_create": Route(ORG_ADMIN),
    "core:person_edit": Route(frozenset({"ciso", "chief"}), kwargs=person("staff_b")),
    "core:assignment_create": Route(ORG_ADMIN),
    "core:assignment_edit": Route(frozenset({"ciso", "chief"}), kwargs=assignment_of("manager_a")),
    "core:person_list": Route(ALL),
    "core:person_detail": Route(CITY_WIDE | {"staff_b"}, kwargs=person("staff_b")),
    "core:mfa_reset": Route(frozenset({"ciso", "chief"}), ok=302, method="post", kwargs=person("staff_b")),
    "core:assignment_list": Route(ALL),
    "core:audit_list": Route(AUDIT),
    "core:audit_export": Route(AUDIT),
    "core:token_list": Route(ALL),
    "core:token_revoke": Route(frozenset({"ciso"}), ok=302, method="post", kwargs=token_of_ciso),
    "javascript-catalog": Route(ALL, anonymous=200),
    # compliance: findings are read in scope; "approve" on the finding's unit accepts; CISO/統括 run the checks.
    "compliance:finding_list": Route(ALL),
    "compliance:finding_detail": Route(SEC_A - {"staff_a", "contractor"}, kwargs=finding_on_sec_a),
    "compliance:finding_accept": Route(frozenset({"ciso", "chief", "dept_head_a", "manager_a"}), ok=302,
                                       method="post", kwargs=finding_on_sec_a, data=lambda w: {"reason": "matrix"}),
    "compliance:run_checks": Route(ORG_ADMIN, ok=302, method="post"),
}


def audit_entry_on_sec_a(w: Any) -> dict[str, Any]:
    from mamoru.core.models import AuditEntry

    return {"seq": AuditEntry.objects.filter(org_unit_id=w.units["sec_a"].pk).order_by("seq").first().seq}


def any_role(w: Any) -> dict[str, Any]:
    from mamoru.core.models import Role

    return {"pk": Role.objects.get(code="ciso").pk}


# The REST API (GET with an MFA-verified session; tokens are tested in tests/api). Lists are open to all
# signed-in personas and filtered by scope; anonymous callers get 401.
ROUTES.update({
    "api-root": Route(ALL, anonymous=401),
    "api-schema": Route(ALL, anonymous=401),
    "api-docs": Route(ALL),
    "orgunit-list": Route(ALL, anonymous=401),
    "orgunit-detail": Route(SEC_A, kwargs=unit("sec_a"), anonymous=401),
    "person-list": Route(ALL, anonymous=401),
    "person-detail": Route(CITY_WIDE | {"staff_b"}, kwargs=person("staff_b"), anonymous=401),
    "role-list": Route(ALL, anonymous=401),
    "role-detail": Route(ALL, kwargs=any_role, anonymous=401),
    "roleassignment-list": Route(ALL, anonymous=401),
    "roleassignment-detail": Route(SEC_A, kwargs=assignment_of("manager_a"), anonymous=401),
    "auditentry-list": Route(ALL, anonymous=401),
    "auditentry-detail": Route(CITY_WIDE, kwargs=audit_entry_on_sec_a, anonymous=401),
    "apitoken-list": Route(ALL, anonymous=401),
    "apitoken-detail": Route(frozenset({"ciso"}), kwargs=token_of_ciso, anonymous=401),
    "finding-list": Route(ALL, anonymous=401),
    "finding-detail": Route(SEC_A - {"staff_a", "contractor"}, kwargs=finding_on_sec_a, anonymous=401),
})

# Routes whose names are matched by prefix (Django admin: staff accounts only — no persona is staff,
# so each is sent to the admin sign-in page).
PREFIX_RULES: dict[str, str] = {
    "admin:": "Django admin: superusers only; every persona is redirected to the admin sign-in page",
}
