"""Objects readable only by a named list (the mechanism the non-public 実施手順 use, seed §10).

No model of the foundation uses it yet, so the test switches it on for OrgUnit: readers are the people of
the unit, plus the CISO in scope. Everyone else — even a department head over the unit — sees nothing.
"""

from __future__ import annotations

import pytest

from mamoru.core.models import OrgUnit

pytestmark = pytest.mark.django_db


@pytest.fixture
def named_units(monkeypatch, world):
    monkeypatch.setattr(OrgUnit, "named_readers", "people__user", raising=False)
    monkeypatch.setattr(OrgUnit, "named_reader_roles", frozenset({"ciso"}), raising=False)
    return world


def visible(world, persona):
    return set(OrgUnit.objects.restrict(world.user(persona), "view").values_list("name", flat=True).distinct())


def test_named_reader_sees_only_what_names_them(named_units):
    assert visible(named_units, "staff_b") == {"課B"}


def test_role_in_scope_reads_everything_in_scope(named_units):
    assert {"課A", "課B", "部A"} <= visible(named_units, "ciso")
    assert "他市 課" not in visible(named_units, "ciso")


def test_other_roles_are_not_readers(named_units):
    # The department head holds "view" on 部A's subtree, but is not on the list and not a reader role.
    assert visible(named_units, "dept_head_a") == {"部A"}  # only the unit they are a member of
    assert visible(named_units, "auditor") == {"課A"}
