"""Walk every route for every persona and compare with tests/authz/routes.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.authz.routes import PREFIX_RULES, ROUTES, Route
from tests.conftest import module_transaction, signed_in_client
from tests.personas import PERSONAS

pytestmark = pytest.mark.django_db


def all_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: Any, namespace: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern):
                if p.name is None and not any(namespace.startswith(r) for r in PREFIX_RULES):
                    raise AssertionError(f"route {p.pattern} has no name: name it and declare it in routes.py")
                if p.name is not None:
                    names.add(namespace + p.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_route_is_declared() -> None:
    undeclared = sorted(n for n in all_route_names()
                        if n not in ROUTES and not any(n.startswith(p) for p in PREFIX_RULES))
    assert not undeclared, f"routes without a declared permission in tests/authz/routes.py: {undeclared}"


def test_declared_routes_exist() -> None:
    stale = sorted(set(ROUTES) - all_route_names())
    assert not stale, f"routes.py declares routes that no longer exist: {stale}"


def _build_matrix_world() -> Any:
    import datetime as dt

    from django.utils import timezone

    from mamoru.assets import inventory, services
    from mamoru.compliance.models import Finding
    from mamoru.core.services_tokens import token_create
    from tests.personas import build_world

    world = build_world()
    world.ciso_token, _ = token_create(user=world.user("ciso"), name="matrix")
    services.scheme_presets_load(world.units["city"])
    services.asset_create(org_unit=world.units["sec_a"], name="matrix asset")
    world.campaign = inventory.campaign_start(municipality=world.units["city"], due_on=dt.date(2030, 1, 31),
                                              fiscal_year=2029)
    now = timezone.now()
    world.finding_sec_a = Finding.objects.create(
        code="TEST-001", clause="6(1)", severity="high", org_unit=world.units["sec_a"],
        object_type="core.orgunit", object_id=str(world.units["sec_a"].pk), object_repr="課A",
        message="matrix", first_seen=now, last_seen=now)
    # Every app's route data, made once (routes.py makes it on first use when it is missing).
    from tests.authz import routes

    for make in (routes._asset_world, routes._policy_world, routes._network_world, routes._mail_world,
                 routes._inspection_world):
        make(world)
    world.sessions = {p: signed_in_client(world.user(p)).cookies[settings.SESSION_COOKIE_NAME].value
                      for p in PERSONAS}
    return world


@pytest.fixture(scope="module")
def _matrix_base(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """The persona world and a signed-in session per persona, built once per module inside a transaction
    that is rolled back at the end (like Django's TestCase.setUpTestData): each test runs in a savepoint
    of it, so what a route changes is undone before the next test."""
    with module_transaction(django_db_blocker):
        yield _build_matrix_world()


@pytest.fixture
def matrix_world(_matrix_base: Any, db: Any) -> Any:
    # Route data made on first use inside a test (routes.py) is rolled back with it: forget it afterwards.
    before = set(vars(_matrix_base))
    yield _matrix_base
    for attr in set(vars(_matrix_base)) - before:
        delattr(_matrix_base, attr)


def _client(world: Any, persona: str) -> Any:
    from django.test import Client

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[persona]
    return client


def _call(client: Any, route: Route, name: str, world: Any) -> int:
    url = reverse(name, kwargs=route.kwargs(world)) + route.query
    data = route.data(world) if route.data else {}
    if route.method == "post":
        return client.post(url, data).status_code
    return client.get(url).status_code


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_matrix(name: str, matrix_world: Any) -> None:
    route = ROUTES[name]
    wrong = {}
    for persona in PERSONAS:
        client = _client(matrix_world, persona)
        got = _call(client, route, name, matrix_world)
        if got != route.expected(persona):
            wrong[persona] = f"got {got}, expected {route.expected(persona)}"
    assert not wrong, f"{name}: {wrong}"


@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r.anonymous is not None))
def test_route_anonymous(name: str, matrix_world: Any) -> None:
    from django.test import Client

    route = ROUTES[name]
    got = _call(Client(), route, name, matrix_world)
    assert got == route.anonymous, f"{name}: anonymous got {got}, expected {route.anonymous}"


def test_admin_routes_refuse_every_persona(matrix_world: Any) -> None:
    for persona in PERSONAS:
        client = _client(matrix_world, persona)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"], persona
