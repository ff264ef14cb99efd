"""The OpenAPI schema is valid, its Swagger UI works offline under our CSP, and fuzzing finds no 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api.conftest import bearer
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

SCHEMA_JSON = {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}
ENDPOINTS = ("/api/org-units/", "/api/people/", "/api/roles/", "/api/role-assignments/", "/api/audit-entries/",
             "/api/findings/", "/api/tokens/")


def test_schema_is_valid_openapi(world, api_as):
    response = api_as("staff_a").get("/api/schema/", **SCHEMA_JSON)
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert set(ENDPOINTS) <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["tokenAuth"]
        ["description"]}
    # the token creation answer documents the clear-text token; the listing does not carry it
    assert "token" in spec["components"]["schemas"]["ApiTokenCreated"]["properties"]
    assert "token" not in spec["components"]["schemas"]["ApiToken"]["properties"]
    assert "201" in spec["paths"]["/api/tokens/"]["post"]["responses"]


def test_schema_needs_authentication(world):
    assert Client().get("/api/schema/").status_code == 401


def test_docs_page_is_served_offline_under_the_csp(world):
    client = signed_in_client(world.user("ciso"))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "external asset in the docs page"
    assert "<style" not in html  # inline styles would be blocked
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts), "inline script"

    # every referenced asset is served by us
    for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html):
        if url.startswith("/static/"):
            from django.contrib.staticfiles import finders

            assert finders.find(url.removeprefix("/static/")), url
        else:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["Content-Type"].startswith("application/javascript")
            body = asset.content.decode()
            assert "SwaggerUIBundle" in body and '"/api/schema/"' in body


def test_docs_page_sends_anonymous_visitors_to_sign_in(world):
    response = Client().get("/api/docs/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_docs_page_wants_mfa_first_where_it_is_required(world):
    response = signed_in_client(world.user("ciso"), verified=False).get("/api/docs/")
    assert response.status_code == 302 and "/accounts/mfa/" in response.url
    assert signed_in_client(world.user("staff_b"), verified=False).get("/api/docs/").status_code == 200


# --- fuzzing -----------------------------------------------------------------------------------------
# Each operation gets a bounded number of positive (schema-valid) and negative (schema-violating) requests
# as the CISO. Path ids and foreign keys are drawn half of the time from rows that exist, so requests get
# past the 404/400 of random ids into the real write paths. (schemathesis' pytest integration,
# from_fixture(), relies on a pytest internal gone in pytest 9: this test drives Hypothesis itself.)

EXAMPLES_PER_MODE = 12
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_MODE, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))


@pytest.fixture
def ciso_raw_token(token_for: Any) -> str:
    return token_for("ciso")[1]


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The project's WSGI application, called in-process within the test's transaction.

    The real handler closes the database connection at the start and end of every request (it would
    close the test's transaction on PostgreSQL); Django's test client switches that off, and so do we.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from mamoru.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world: Any, ciso_raw_token: str, wsgi_app: Any) -> Any:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app,
                                            headers={"Authorization": f"Bearer {ciso_raw_token}"})
    # Revoking the fuzzer's own token would turn the rest of the run into 401s: keep the token alive.
    return schema.exclude(method="DELETE", path="/api/tokens/{id}/")


def existing_rows(world: Any) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Ids per path template, and values per foreign-key body field, of rows that exist.

    The CISO's own person and role assignment are left out: deleting or moving them would leave the
    fuzzer without rights for the rest of the run.
    """
    from mamoru.compliance.models import Finding
    from mamoru.core.models import ApiToken, AuditEntry, OrgUnit, Person, Role, RoleAssignment

    now = timezone.now()
    for key in ("sec_a", "other_sec"):
        Finding.objects.create(code="TEST-001", clause="6(1)", severity="high", org_unit=world.units[key],
                               object_type="core.orgunit", object_id=str(world.units[key].pk),
                               object_repr=key, message="fuzz", first_seen=now, last_seen=now)
    ciso = world.people["ciso"]
    units = list(OrgUnit.objects.values_list("pk", flat=True))
    people = list(Person.objects.exclude(pk=ciso.pk).values_list("pk", flat=True))
    paths = {
        "/api/org-units/{id}/": units,
        "/api/people/{id}/": people,
        "/api/role-assignments/{id}/": list(RoleAssignment.objects.exclude(person=ciso).values_list("pk", flat=True)),
        "/api/roles/{id}/": list(Role.objects.values_list("pk", flat=True)),
        "/api/audit-entries/{seq}/": list(AuditEntry.objects.values_list("seq", flat=True)[:50]),
        "/api/findings/{id}/": list(Finding.objects.values_list("pk", flat=True)),
        "/api/tokens/{id}/": list(ApiToken.objects.values_list("pk", flat=True)),
    }
    fields = {"parent": units, "org_unit": units, "person": people,
              "role": list(Role.objects.values_list("code", flat=True))}
    return paths, fields


def case_strategy(operation: Any, mode: GenerationMode, paths: dict[str, list[Any]],
                  fields: dict[str, list[Any]]) -> Any:
    strategy = operation.as_strategy(generation_mode=mode)
    ids = paths.get(operation.path)
    if ids:
        name = operation.path.rsplit("{", 1)[1].rstrip("}/")
        on_real_row = st.sampled_from(ids).flatmap(
            lambda pk: operation.as_strategy(generation_mode=mode, path_parameters={name: pk}))
        strategy = st.one_of(strategy, on_real_row)
    if mode is GenerationMode.POSITIVE and operation.method.upper() in {"POST", "PUT", "PATCH"}:
        picks = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in fields.items() if v})

        def with_real_keys(case: Any, chosen: dict[str, Any]) -> Any:
            if isinstance(case.body, dict):
                for key, value in chosen.items():
                    if key in case.body:
                        case.body[key] = value
            return case

        strategy = st.one_of(strategy, st.tuples(strategy, picks).map(lambda pair: with_real_keys(*pair)))
    return strategy


def test_api_never_answers_with_a_server_error(world: Any, api_schema: Any, ciso_raw_token: str) -> None:
    headers = {"Authorization": f"Bearer {ciso_raw_token}"}
    paths, fields = existing_rows(world)
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    # Deletions last, so the other operations still find rows to work on.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=case_strategy(operation, mode, paths, fields))
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            try:
                fuzz()
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_fuzzer_token_is_usable(world: Any, ciso_raw_token: str) -> None:
    """The fuzzing above is only meaningful if its token gets past authentication."""
    assert bearer(ciso_raw_token).get("/api/org-units/").status_code == 200
