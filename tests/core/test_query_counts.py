"""List pages run a fixed number of queries, however many rows they show (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mamoru.core import services
from mamoru.core.context import acting_as

pytestmark = pytest.mark.django_db


def grow(world, n, start=0):
    with acting_as(label="test"):
        for i in range(start, start + n):
            unit = services.orgunit_create(name=f"増設課{i}", code=f"extra{i}", kind="section",
                                           parent=world.units["dept_b"])
            person = services.person_create(full_name=f"増員 {i}", org_unit=unit)
            services.role_assign(person=person, role="section_manager", org_unit=unit)


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/org/", "/people/", "/roles/", "/audit/", "/"])
def test_list_pages_do_not_grow_with_rows(world, login_as, url):
    client = login_as("ciso")
    grow(world, 3)
    # The first page of a session saves the session (IdleSessionMiddleware), and the first page after a change
    # of units, people or roles reads the user's grants afresh (core/access.py); later pages do neither.
    client.get(url)
    few = queries(client, url)
    grow(world, 20, start=3)
    client.get(url)
    many = queries(client, url)
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
