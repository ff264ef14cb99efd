"""Restricted querysets: who sees which units, people and audit entries."""

from __future__ import annotations

import pytest

from mamoru.core.models import AuditEntry, OrgUnit, Person

pytestmark = pytest.mark.django_db


def names(qs):
    return set(qs.values_list("name", flat=True))


def test_ciso_sees_whole_city_but_not_other_city(world):
    seen = names(OrgUnit.objects.restrict(world.user("ciso"), "view"))
    assert {"テスト市", "部A", "課A", "課B"} <= seen
    assert "他市" not in seen and "他市 課" not in seen


def test_other_ciso_sees_only_own_city(world):
    assert names(OrgUnit.objects.restrict(world.user("other_ciso"), "view")) == {"他市", "他市 課"}


def test_department_head_sees_department_subtree(world):
    assert names(OrgUnit.objects.restrict(world.user("dept_head_a"), "view")) == {"部A", "課A", "課A2"}


def test_staff_sees_own_section_only(world):
    assert names(OrgUnit.objects.restrict(world.user("staff_b"), "view")) == {"課B"}


def test_section_manager_cannot_change_org(world):
    assert not OrgUnit.objects.restrict(world.user("manager_a"), "change").exists()
    assert OrgUnit.objects.restrict(world.user("chief"), "change").filter(name="課B").exists()


def test_person_sees_own_record_and_section_colleagues(world):
    visible = set(Person.objects.restrict(world.user("staff_b"), "view").values_list("user__username", flat=True))
    assert visible == {"staff_b"}


def test_expired_assignment_grants_nothing(world):
    import datetime as dt

    from mamoru.core.models import RoleAssignment

    ra = RoleAssignment.objects.get(person=world.people["dept_head_a"])
    ra.valid_until = dt.date(2000, 1, 1)
    ra.valid_from = dt.date(1999, 1, 1)
    ra.save()
    user = world.user("dept_head_a")
    assert names(OrgUnit.objects.restrict(user, "view")) == {"部A"}  # home unit only, no subtree


def test_audit_trail_readable_by_ciso_and_auditor_only(world):
    assert AuditEntry.objects.restrict(world.user("ciso"), "view").exists()
    assert AuditEntry.objects.restrict(world.user("auditor"), "view").exists()
    assert not AuditEntry.objects.restrict(world.user("manager_a"), "view").exists()
    assert not AuditEntry.objects.restrict(world.user("staff_a"), "view").exists()


def test_anonymous_sees_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not OrgUnit.objects.restrict(AnonymousUser(), "view").exists()


def test_out_of_scope_object_is_404_and_the_attempt_is_audited(world, login_as):
    target = world.people["staff_a"]
    response = login_as("staff_b").get(f"/people/{target.pk}/")
    assert response.status_code == 404
    entry = AuditEntry.objects.filter(event="access_denied").order_by("-seq").first()
    assert entry.actor == "staff_b" and entry.object_id == str(target.pk)
    # a URL for an object that does not exist is a plain 404, with nothing recorded
    before = AuditEntry.objects.filter(event="access_denied").count()
    assert login_as("staff_b").get("/people/999999/").status_code == 404
    assert AuditEntry.objects.filter(event="access_denied").count() == before


def test_revoking_another_users_token_is_404_and_audited(world, login_as):
    from mamoru.core.services_tokens import token_create

    token, _raw = token_create(user=world.user("ciso"), name="ciso's")
    response = login_as("staff_b").post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert AuditEntry.objects.filter(event="access_denied", actor="staff_b", object_id=str(token.pk)).exists()


def test_may_answers_from_the_grants_like_the_querysets(world):
    from mamoru.assets.models import InformationAsset
    from mamoru.core.access import may, units_for
    from mamoru.core.models import AuditEntry, OrgUnit

    for name, user in ((n, p.user) for n, p in world.people.items() if p.user is not None):
        for model in (OrgUnit, InformationAsset, AuditEntry):
            for action in ("add", "change", "export"):
                assert may(user, action, model) == units_for(user, action, model).exists(), (name, model, action)
    assert may(world.people["staff_a"].user, "view", InformationAsset)
    assert not may(world.people["staff_a"].user, "view", AuditEntry)
    assert may(world.people["auditor"].user, "view", AuditEntry)
