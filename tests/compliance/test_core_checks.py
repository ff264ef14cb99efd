"""The organisation checks (seed §6(1) 組織体制) find the right things in the persona world.

The world: テスト市 has a CISO, 統括, a department head of 部A, a section manager and a system
administrator of 課A, an auditor and a contractor — but no CSIRT, committee or system operator.
他市 has only a CISO. Nobody has an MFA device. 課A2, 課B and 他市 課 have no section manager.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mamoru.compliance import registry, services
from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.compliance.models import Finding
from mamoru.compliance.registry import CheckContext
from mamoru.core import services as core_services
from mamoru.core.choices import UnitKind
from mamoru.core.models import Role, RoleAssignment
from tests.compliance.conftest import give_mfa_device, subjects
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def run(code):
    return services.checks_run(codes=[code])


def by_unit(code, unit):
    return {f.object_repr: f for f in Finding.objects.filter(code=code, org_unit=unit)}


# --- CORE-001: a role nobody holds ------------------------------------------------------------------

def test_roles_nobody_holds_are_found_per_municipality(world):
    run("CORE-001")
    city = by_unit("CORE-001", world.units["city"])
    assert {f.object_type for f in city.values()} == {"core.role"}
    role_codes = set(Role.objects.filter(pk__in=[f.object_id for f in city.values()]).values_list("code", flat=True))
    assert role_codes == {"csirt", "system_operator", "committee"}
    assert {f.severity for f in city.values()} == {Severity.MEDIUM}
    other = by_unit("CORE-001", world.units["other_city"])
    assert len(other) == 9  # everything but the CISO
    assert other["統括情報セキュリティ責任者"].severity == Severity.HIGH
    assert other["CSIRT"].severity == Severity.MEDIUM
    assert "CSIRT" in other["CSIRT"].message


def test_assigning_the_role_resolves_the_finding(world):
    run("CORE-001")
    core_services.role_assign(person=world.people["staff_b"], role="csirt", org_unit=world.units["city"])
    run("CORE-001")
    csirt = Finding.objects.get(code="CORE-001", org_unit=world.units["city"], object_repr="CSIRT")
    assert csirt.status == FindingStatus.RESOLVED and csirt.resolved_at is not None
    # The other city still has no CSIRT: a role held in テスト市 does not count there.
    assert Finding.objects.get(code="CORE-001", org_unit=world.units["other_city"], object_repr="CSIRT").status \
        == FindingStatus.OPEN


def test_an_expired_assignment_does_not_hold_a_role(world):
    ciso = RoleAssignment.objects.get(person=world.people["ciso"])
    ciso.valid_from, ciso.valid_until = dt.date(2000, 1, 1), dt.date(2001, 1, 1)
    ciso.save()
    run("CORE-001")
    missing = by_unit("CORE-001", world.units["city"])
    assert missing["最高情報セキュリティ責任者 (CISO)"].severity == Severity.HIGH


# --- CORE-002: an approver without MFA --------------------------------------------------------------

def test_approvers_without_mfa_are_found(world):
    run("CORE-002")
    found = set(Finding.objects.filter(code="CORE-002").values_list("object_id", flat=True))
    approvers = {"ciso", "chief", "dept_head_a", "manager_a", "other_ciso"}
    assert found == {str(world.people[p].pk) for p in approvers}
    # System administrators, auditors, contractors and plain staff do not approve.
    manager = Finding.objects.get(code="CORE-002", object_id=str(world.people["manager_a"].pk))
    assert manager.org_unit == world.units["sec_a"] and manager.severity == Severity.HIGH
    ciso = Finding.objects.get(code="CORE-002", object_id=str(world.people["ciso"].pk))
    assert ciso.org_unit == world.units["city"]  # the widest unit the person approves for


def test_enrolling_a_device_resolves_the_finding(world):
    run("CORE-002")
    give_mfa_device(world.user("ciso"))
    run("CORE-002")
    ciso = Finding.objects.get(code="CORE-002", object_id=str(world.people["ciso"].pk))
    assert ciso.status == FindingStatus.RESOLVED
    assert Finding.objects.filter(code="CORE-002", status=FindingStatus.OPEN).count() == 4


def test_an_unconfirmed_device_is_not_mfa(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=world.user("chief"), name="half-enrolled", confirmed=False)
    run("CORE-002")
    assert Finding.objects.filter(code="CORE-002", object_id=str(world.people["chief"].pk)).exists()


def test_a_person_without_a_user_account_cannot_approve_anything(world):
    person = PersonFactory(org_unit=world.units["sec_b"], user=None, full_name="アカウントなし")
    core_services.role_assign(person=person, role="section_manager", org_unit=world.units["sec_b"])
    run("CORE-002")
    assert "アカウントなし" not in subjects("CORE-002")


# --- CORE-003: an in-scope section without its own section manager ---------------------------------

def test_sections_without_their_own_manager_are_found(world):
    run("CORE-003")
    # 課A has manager_a; 課A2 is covered by the head of 部A, which does not count.
    assert subjects("CORE-003") == {"課A2", "課B", "他市 課"}
    sec_b = Finding.objects.get(code="CORE-003", object_repr="課B")
    assert sec_b.org_unit == world.units["sec_b"] and sec_b.severity == Severity.MEDIUM


def test_a_manager_assigned_on_the_department_does_not_count(world):
    core_services.role_assign(person=world.people["staff_b"], role="section_manager",
                              org_unit=world.units["dept_b"], covers_children=True)
    run("CORE-003")
    assert "課B" in subjects("CORE-003")


def test_assigning_a_manager_resolves_and_out_of_scope_sections_are_ignored(world):
    run("CORE-003")
    core_services.role_assign(person=world.people["staff_b"], role="section_manager",
                              org_unit=world.units["sec_b"])
    sec_a2 = world.units["sec_a2"]
    sec_a2.in_scope = False
    sec_a2.save()
    run("CORE-003")
    assert subjects("CORE-003", status=FindingStatus.OPEN) == {"他市 課"}
    assert subjects("CORE-003", status=FindingStatus.RESOLVED) == {"課A2", "課B"}


# --- bounded queries ----------------------------------------------------------------------------------

def _queries(code, ctx):
    check = registry.REGISTRY[code]
    with CaptureQueriesContext(connection) as captured:
        check.run(ctx)
    return len(captured)


def test_check_queries_do_not_grow_with_the_organisation(world):
    ctx = CheckContext(today=dt.date.today())
    before = {code: _queries(code, ctx) for code in ("CORE-001", "CORE-002", "CORE-003")}
    for i in range(15):
        section = core_services.orgunit_create(name=f"課X{i}", code=f"x{i}", kind=UnitKind.SECTION,
                                               parent=world.units["dept_b"])
        person = PersonFactory(org_unit=section)
        core_services.role_assign(person=person, role="section_manager", org_unit=section)
        core_services.municipality_create(name=f"市{i}", code=f"city-{i}")
    after = {code: _queries(code, ctx) for code in before}
    assert after == before
    assert max(after.values()) <= 4


def test_a_run_can_be_limited_to_one_municipality(world):
    services.checks_run(municipality=world.units["other_city"])
    paths = set(Finding.objects.values_list("org_unit__path", flat=True))
    assert paths and all(p.startswith(world.units["other_city"].path) for p in paths)
    assert subjects("CORE-003") == {"他市 課"}
