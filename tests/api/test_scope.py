"""The API goes through the restricted querysets: same rows as the pages, 404 outside, audited writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from mamoru.compliance.models import Finding
from mamoru.core.choices import AuditAction
from mamoru.core.models import AuditEntry, OrgUnit, Person, Role, RoleAssignment
from tests.api.conftest import all_pages
from tests.personas import PERSONAS

pytestmark = pytest.mark.django_db

# endpoint → (model, key of a row in the API output)
LISTS: dict[str, tuple[Any, str]] = {
    "/api/org-units/": (OrgUnit, "id"),
    "/api/people/": (Person, "id"),
    "/api/roles/": (Role, "id"),
    "/api/role-assignments/": (RoleAssignment, "id"),
    "/api/audit-entries/": (AuditEntry, "seq"),
    "/api/findings/": (Finding, "id"),
}


@pytest.fixture
def findings(world: Any) -> Any:
    now = timezone.now()
    for key in ("sec_a", "sec_b", "other_sec"):
        Finding.objects.create(code="TEST-001", clause="6(1)", severity="high", org_unit=world.units[key],
                               object_type="core.orgunit", object_id=str(world.units[key].pk),
                               object_repr=key, message="test", first_seen=now, last_seen=now)
    return world


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_sees_through_the_api_what_restrict_allows(persona, findings, api_as):
    client = api_as(persona)
    user = findings.user(persona)
    for url, (model, key) in LISTS.items():
        through_api = [row[key] for row in all_pages(client, url)]
        assert len(through_api) == len(set(through_api)), f"{url}: duplicates for {persona}"
        expected = set(model.objects.restrict(user, "view").values_list(key if key != "id" else "pk", flat=True))
        assert set(through_api) == expected, f"{url} for {persona}"


def test_scope_differs_between_personas(world, api_as):
    """Not a vacuous comparison: staff see their section, the other city's CISO sees only theirs."""
    names = {p: {u["name"] for u in all_pages(api_as(p), "/api/org-units/")} for p in ("staff_b", "other_ciso")}
    assert names["staff_b"] == {"課B"}
    assert names["other_ciso"] == {"他市", "他市 課"}
    assert all_pages(api_as("manager_a"), "/api/audit-entries/") == []


def test_out_of_scope_detail_is_404(world, api_as):
    client = api_as("staff_b")
    assert client.get(f"/api/org-units/{world.units['sec_a'].pk}/").status_code == 404
    assert client.get(f"/api/people/{world.people['staff_a'].pk}/").status_code == 404
    assert client.get(f"/api/org-units/{world.units['sec_b'].pk}/").status_code == 200
    other = api_as("other_ciso")
    assert other.get(f"/api/people/{world.people['ciso'].pk}/").status_code == 404
    assert other.patch(f"/api/org-units/{world.units['sec_a'].pk}/", {"name": "x"},
                       content_type="application/json").status_code == 404
    assert other.delete(f"/api/people/{world.people['staff_a'].pk}/").status_code == 404


def test_visible_but_not_writable_is_403(world, api_as):
    response = api_as("manager_a").patch(f"/api/org-units/{world.units['sec_a'].pk}/", {"name": "x"},
                                         content_type="application/json")
    assert response.status_code == 403
    assert OrgUnit.objects.get(pk=world.units["sec_a"].pk).name == "課A"


def new_unit(world: Any, **extra: Any) -> dict[str, Any]:
    return {"parent": world.units["dept_a"].pk, "code": "sec-a3", "name": "課A3", "kind": "section", **extra}


def test_section_manager_cannot_create_an_org_unit(world, api_as):
    response = api_as("manager_a").post("/api/org-units/", new_unit(world), content_type="application/json")
    assert response.status_code == 403
    assert "追加する権限がありません" in response.json()["detail"]
    assert not OrgUnit.objects.filter(code="sec-a3").exists()


def test_ciso_creates_an_org_unit_and_the_audit_trail_names_the_api_user(world, api_as):
    response = api_as("ciso").post("/api/org-units/", new_unit(world), content_type="application/json",
                                   REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 201, response.content
    unit = OrgUnit.objects.get(pk=response.json()["id"])
    assert unit.parent == world.units["dept_a"] and unit.path.startswith(world.units["dept_a"].path)
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_type="core.orgunit", object_id=str(unit.pk))
    assert entry.actor == "ciso" and entry.actor_id == world.user("ciso").pk
    assert entry.source_ip == "192.0.2.10"


def test_ciso_cannot_create_in_another_city(world, api_as):
    response = api_as("ciso").post("/api/org-units/", {**new_unit(world), "parent": world.units["other_sec"].pk},
                                   content_type="application/json")
    # the other city's unit is invisible to this CISO: it "does not exist"
    assert response.status_code == 400 and "parent" in response.json()
    assert not OrgUnit.objects.filter(code="sec-a3").exists()


def test_model_validation_runs_on_api_writes(world, api_as):
    client = api_as("ciso")
    duplicate = client.post("/api/org-units/", {**new_unit(world), "code": "sec-a"},
                            content_type="application/json")
    assert duplicate.status_code == 400
    loop = client.patch(f"/api/org-units/{world.units['dept_a'].pk}/", {"parent": world.units["sec_a"].pk},
                        content_type="application/json")
    assert loop.status_code == 400 and "parent" in loop.json()
    root = client.post("/api/org-units/", {**new_unit(world), "parent": None}, content_type="application/json")
    assert root.status_code == 403


def test_unit_in_use_cannot_be_deleted(world, api_as):
    response = api_as("ciso").delete(f"/api/org-units/{world.units['sec_b'].pk}/")
    assert response.status_code == 409
    assert OrgUnit.objects.filter(pk=world.units["sec_b"].pk).exists()


def test_ciso_updates_and_deletes_a_person_with_audit(world, api_as):
    client = api_as("ciso")
    person = client.post("/api/people/", {"full_name": "新人 さん", "org_unit": world.units["sec_b"].pk},
                         content_type="application/json")
    assert person.status_code == 201, person.content
    pk = person.json()["id"]
    assert person.json()["user"] is None
    assert client.patch(f"/api/people/{pk}/", {"title": "主事"}, content_type="application/json").status_code == 200
    update = AuditEntry.objects.get(action=AuditAction.UPDATE, object_type="core.person", object_id=str(pk))
    assert update.actor == "ciso" and update.changes["title"] == ["", "主事"]
    assert client.delete(f"/api/people/{pk}/").status_code == 204
    assert AuditEntry.objects.filter(action=AuditAction.DELETE, object_id=str(pk), actor="ciso").exists()


def test_person_cannot_be_moved_out_of_the_callers_scope(world, api_as):
    response = api_as("other_ciso").patch(f"/api/people/{world.people['other_ciso'].pk}/",
                                          {"org_unit": world.units["sec_a"].pk}, content_type="application/json")
    assert response.status_code == 400  # 課A is not visible to the other city's CISO


def test_role_assignment_crud_is_for_org_admins(world, api_as):
    data = {"person": world.people["staff_b"].pk, "role": "section_manager", "org_unit": world.units["sec_b"].pk}
    assert api_as("dept_head_a").post("/api/role-assignments/", data,
                                      content_type="application/json").status_code == 403
    created = api_as("chief").post("/api/role-assignments/", data, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["role"] == "section_manager"
    bad_dates = api_as("chief").patch(f"/api/role-assignments/{created.json()['id']}/",
                                      {"valid_from": "2030-01-02", "valid_until": "2030-01-01"},
                                      content_type="application/json")
    assert bad_dates.status_code == 400 and "valid_until" in bad_dates.json()


def test_read_only_endpoints_refuse_writes(world, api_as):
    client = api_as("ciso")
    assert client.post("/api/roles/", {"code": "x", "name": "x"}, content_type="application/json").status_code == 405
    assert client.delete("/api/audit-entries/1/").status_code == 405
    assert client.post("/api/findings/", {}, content_type="application/json").status_code == 405


def test_filters_work_through_the_api(world, api_as):
    rows = all_pages(api_as("ciso"), "/api/org-units/?kind=department")
    assert {r["name"] for r in rows} == {"部A", "部B"}
    people = all_pages(api_as("ciso"), f"/api/people/?org_unit={world.units['sec_b'].pk}")
    assert {p["full_name"] for p in people} == {"staff_b さん"}


@pytest.mark.parametrize("url", ["/api/org-units/", "/api/people/", "/api/role-assignments/", "/api/findings/",
                                 "/api/audit-entries/", "/api/tokens/"])
def test_list_queries_do_not_grow_with_the_rows(url, findings, token_for):
    """No N+1: the number of queries of a list page is the same for few rows and for many."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mamoru.core import services
    from tests.api.conftest import bearer
    from tests.factories import UserFactory

    _, raw = token_for("ciso")
    client = bearer(raw)
    client.get(url)  # warm up: last_used_at is written on the first call only

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    dept = findings.units["dept_b"]
    now = timezone.now()
    for i in range(5):
        unit = services.orgunit_create(name=f"課X{i}", code=f"sec-x{i}", kind="section", parent=dept)
        person = services.person_create(full_name=f"X{i}", org_unit=unit, user=UserFactory(username=f"x{i}"))
        services.role_assign(person=person, role="section_manager", org_unit=unit)
        Finding.objects.create(code="TEST-002", clause="6(1)", severity="low", org_unit=unit, object_repr=str(i),
                               message="more", first_seen=now, last_seen=now)
        token_for("ciso")
    client.get(url)  # the first request after a change of units, people or roles reads the grants afresh
    assert queries() == before
