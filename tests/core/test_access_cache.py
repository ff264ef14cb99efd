"""A user's grants, person record and unit subtrees are cached across requests under the access generation
(core/access.py, core migration 0002). Every change to roles, people or units shows on the next request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mamoru.core import services
from mamoru.core.access import user_display_name, user_home_unit, user_roles
from mamoru.core.models import OrgUnit, Person, RoleAssignment
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def request_user(persona: str):
    """The user object a new request would have (nothing cached on it)."""
    return get_user_model().objects.get(username=persona)


def test_a_later_request_reads_only_the_generation(world):
    assert user_roles(request_user("dept_head_a")) == {"dept_head"}
    user = request_user("dept_head_a")
    with CaptureQueriesContext(connection) as ctx:
        assert user_roles(user) == {"dept_head"}
        assert user_home_unit(user) == (world.units["dept_a"].pk, world.units["dept_a"].path)
        assert list(OrgUnit.objects.restrict(user, "view").values_list("name", flat=True).order_by("name")) \
            == ["課A", "課A2", "部A"]
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 2, sql  # the generation, then the units themselves: no grant, person or subtree query
    assert "core_access_generation" in sql[0]


def test_a_role_assigned_or_removed_applies_to_the_next_request(world):
    assert user_roles(request_user("staff_b")) == frozenset()
    services.role_assign(person=world.people["staff_b"], role="section_manager", org_unit=world.units["sec_b"])
    assert user_roles(request_user("staff_b")) == {"section_manager"}
    RoleAssignment.objects.filter(person=world.people["staff_b"]).delete()  # any write path, not only services
    assert user_roles(request_user("staff_b")) == frozenset()


def test_a_moved_person_and_a_renamed_person_show_on_the_next_request(world):
    assert user_home_unit(request_user("staff_b"))[0] == world.units["sec_b"].pk
    Person.objects.filter(pk=world.people["staff_b"].pk).update(org_unit=world.units["sec_a"], full_name="異動 太郎")
    user = request_user("staff_b")
    assert user_home_unit(user)[0] == world.units["sec_a"].pk
    assert user_display_name(user) == "異動 太郎"


def test_a_grown_subtree_shows_on_the_next_request(world):
    names = lambda: set(OrgUnit.objects.restrict(request_user("dept_head_a"), "view").values_list("name", flat=True))  # noqa: E731
    assert names() == {"部A", "課A", "課A2"}
    services.orgunit_create(name="課A3", code="sec-a3", kind="section", parent=world.units["dept_a"])
    assert names() == {"部A", "課A", "課A2", "課A3"}


def test_a_role_ending_today_is_gone_tomorrow(world, monkeypatch):
    today = timezone.localdate()
    services.role_assign(person=world.people["staff_b"], role="section_manager", org_unit=world.units["sec_b"],
                         valid_until=today)
    assert user_roles(request_user("staff_b")) == {"section_manager"}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today + dt.timedelta(days=1))
    assert user_roles(request_user("staff_b")) == frozenset()  # no write in between: the day is in the key


def test_a_rolled_back_change_leaves_nothing_that_a_later_change_could_reuse(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.role_assign(person=world.people["staff_b"], role="section_manager", org_unit=world.units["sec_b"])
        assert user_roles(request_user("staff_b")) == {"section_manager"}  # cached inside the transaction
        raise RuntimeError("rolled back")
    assert user_roles(request_user("staff_b")) == frozenset()
    # A counter would now come back to the rolled-back transaction's number and serve its grants.
    services.role_assign(person=world.people["staff_b"], role="system_admin", org_unit=world.units["sec_b"])
    assert user_roles(request_user("staff_b")) == {"system_admin"}


def test_the_page_header_names_the_signed_in_person(world, login_as):
    page = login_as("staff_b").get("/").content.decode()
    assert '<span class="user-name">staff_b さん</span>' in page
    Person.objects.filter(pk=world.people["staff_b"].pk).update(full_name="改名 花子")
    assert '<span class="user-name">改名 花子</span>' in login_as("staff_b").get("/").content.decode()


def test_an_account_without_a_person_record_shows_its_username(world):
    page = signed_in_client(UserFactory(username="no-person")).get("/").content.decode()
    assert '<span class="user-name">no-person</span>' in page


def test_a_new_section_appears_in_the_register_filter_on_the_next_page(world, login_as):
    client = login_as("ciso")
    assert "課A3" not in client.get("/assets/").content.decode()
    assert "課A3" not in client.get("/assets/").content.decode()  # now served from the cache
    services.orgunit_create(name="課A3", code="sec-a3", kind="section", parent=world.units["dept_a"])
    assert ">課A3</option>" in client.get("/assets/").content.decode()
