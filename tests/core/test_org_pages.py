"""Organisation pages: the CISO maintains units, people and role assignments; others cannot."""

from __future__ import annotations

import pytest

from mamoru.core.models import AuditEntry, OrgUnit, Person, RoleAssignment

pytestmark = pytest.mark.django_db


def test_chief_creates_a_section_and_it_is_audited(world, login_as):
    client = login_as("chief")
    response = client.post("/org/new/", {"parent": world.units["dept_b"].pk, "code": "sec-b2", "name": "課B2",
                                         "kind": "section", "scope_category": "mayor", "in_scope": "on",
                                         "sort_order": 0})
    unit = OrgUnit.objects.get(code="sec-b2")
    assert response.status_code == 302 and response["Location"] == f"/org/{unit.pk}/"
    assert unit.path.startswith(world.units["dept_b"].path)
    entry = AuditEntry.objects.filter(object_type="core.orgunit", object_id=str(unit.pk), action="create").get()
    assert entry.actor == "chief"


def test_cannot_place_a_unit_in_another_city(world, login_as):
    response = login_as("chief").post("/org/new/", {
        "parent": world.units["other_city"].pk, "code": "x", "name": "越境課", "kind": "section",
        "scope_category": "mayor", "sort_order": 0})
    assert response.status_code == 200
    assert not OrgUnit.objects.filter(name="越境課").exists()
    assert "parent" in response.context["form"].errors


def test_section_manager_cannot_open_org_forms(world, login_as):
    client = login_as("manager_a")
    assert client.get("/org/new/").status_code == 404
    assert client.get(f"/org/{world.units['sec_a'].pk}/edit/").status_code == 404
    assert client.get("/roles/new/").status_code == 404


def test_ciso_assigns_a_section_manager_with_dates(world, login_as):
    client = login_as("ciso")
    response = client.post("/roles/new/", {
        "person": world.people["staff_b"].pk, "role": RoleAssignment._meta.get_field("role").related_model
        .objects.get(code="section_manager").pk, "org_unit": world.units["sec_b"].pk, "covers_children": "on",
        "valid_from": "2026-04-01", "valid_until": "2027-03-31"})
    assert response.status_code == 302
    ra = RoleAssignment.objects.get(person=world.people["staff_b"])
    assert str(ra.valid_until) == "2027-03-31"


def test_end_before_start_is_refused_with_a_message(world, login_as):
    ra = RoleAssignment.objects.get(person=world.people["manager_a"])
    response = login_as("ciso").post(f"/roles/{ra.pk}/edit/", {
        "person": ra.person_id, "role": ra.role_id, "org_unit": ra.org_unit_id,
        "valid_from": "2026-04-01", "valid_until": "2026-03-31"})
    assert response.status_code == 200
    assert response.context["form"].errors["valid_until"]


def test_new_person_with_account(world, login_as):
    response = login_as("ciso").post("/people/new/", {
        "full_name": "新任 太郎", "kind": "staff", "org_unit": world.units["sec_b"].pk, "username": "shinnin",
        "is_active": "on"})
    assert response.status_code == 302
    person = Person.objects.get(full_name="新任 太郎")
    assert person.user.username == "shinnin" and not person.user.has_usable_password()
