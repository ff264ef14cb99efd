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


def campaign(w: Any) -> dict[str, Any]:
    return {"pk": w.campaign.pk}


def confirmation_sec_a(w: Any) -> dict[str, Any]:
    return {"pk": w.campaign.confirmations.get(org_unit=w.units["sec_a"]).pk}


# Yearly inventory: the city reads its campaigns; CISO/統括 start one; approvers of a section confirm it.
ROUTES.update({
    "inventory:campaign_list": Route(ALL),
    "inventory:campaign_start": Route(ORG_ADMIN, ok=302, method="post", data=lambda w: {"due_on": "2030-01-31"}),
    "inventory:campaign_detail": Route(ALL - {"other_ciso"}, kwargs=campaign),
    "inventory:campaign_close": Route(frozenset({"ciso", "chief"}), ok=302, method="post", kwargs=campaign),
    "inventory:section_confirm": Route(frozenset({"ciso", "chief", "dept_head_a", "manager_a"}), ok=302,
                                       method="post", kwargs=confirmation_sec_a),
})



def api_asset_on_sec_a(w: Any) -> dict[str, Any]:
    from mamoru.assets.models import InformationAsset
    from mamoru.assets.services import asset_create

    asset = InformationAsset.objects.filter(org_unit=w.units["sec_a"], name="matrix").first()
    if asset is None:
        asset = asset_create(org_unit=w.units["sec_a"], name="matrix")
    return {"pk": asset.pk}


def _city_presets(w: Any) -> None:
    from mamoru.assets.services import scheme_presets_load

    scheme_presets_load(w.units["city"])


def api_active_scheme(w: Any) -> dict[str, Any]:
    from mamoru.assets.models import ClassificationScheme

    _city_presets(w)
    return {"pk": ClassificationScheme.objects.get(municipality=w.units["city"], is_active=True).pk}


def api_level_of_city(w: Any) -> dict[str, Any]:
    from mamoru.assets.models import ClassificationLevel

    _city_presets(w)
    return {"pk": ClassificationLevel.objects.filter(scheme__municipality=w.units["city"]).first().pk}


# The asset register API: assets like the pages (scope of the owning section); the export needs the
# export right (staff and contractors: 403); schemes and levels are read by everyone in the city.
ROUTES.update({
    "asset-list": Route(ALL, anonymous=401),
    "asset-detail": Route(SEC_A, kwargs=api_asset_on_sec_a, anonymous=401),
    "asset-export": Route(ALL - {"staff_a", "staff_b", "contractor"}, denied=403, anonymous=401,
                          query="?format=csv"),
    "classificationscheme-list": Route(ALL, anonymous=401),
    "classificationscheme-detail": Route(ALL - {"other_ciso"}, kwargs=api_active_scheme, anonymous=401),
    "classificationlevel-list": Route(ALL, anonymous=401),
    "classificationlevel-detail": Route(ALL - {"other_ciso"}, kwargs=api_level_of_city, anonymous=401),
})

# Routes whose names are matched by prefix (Django admin: staff accounts only — no persona is staff,
# so each is sent to the admin sign-in page).
PREFIX_RULES: dict[str, str] = {
    "admin:": "Django admin: superusers only; every persona is redirected to the admin sign-in page",
}


# --- the asset register (issue 3). Data is made on first use: presets for テスト市 and one asset of 課A.
def _asset_world(w: Any) -> Any:
    if getattr(w, "asset_sec_a", None) is None:
        from mamoru.assets import services as asset_services
        from mamoru.assets.models import ClassificationLevel
        from mamoru.core.context import acting_as

        with acting_as(label="matrix"):
            asset_services.scheme_presets_load(w.units["city"])
            conf = ClassificationLevel.objects.get(scheme__municipality=w.units["city"], scheme__is_active=True,
                                                   axis="confidentiality", code="2")
            w.asset_sec_a = asset_services.asset_create(org_unit=w.units["sec_a"], name="matrix asset",
                                                        confidentiality=conf)
    return w


def asset_sec_a(w: Any) -> dict[str, Any]:
    return {"pk": _asset_world(w).asset_sec_a.pk}


def active_scheme_of_city(w: Any) -> dict[str, Any]:
    return {"pk": _asset_world(w).asset_sec_a.confidentiality.scheme_id}


def level_of_city(w: Any) -> dict[str, Any]:
    return {"pk": _asset_world(w).asset_sec_a.confidentiality_id}


def no_kwargs_with_assets(w: Any) -> dict[str, Any]:
    _asset_world(w)
    return {}


ASSET_CHANGE = frozenset({"ciso", "chief", "dept_head_a", "manager_a", "sysadmin_a"})
ASSET_ADD_ANYWHERE = ASSET_CHANGE | {"other_ciso"}  # other_ciso adds and exports in their own city
ASSET_EXPORT_ANYWHERE = ASSET_ADD_ANYWHERE | {"auditor"}
CITY_MEMBERS = ALL - {"other_ciso"}

ROUTES.update({
    "assets:asset_list": Route(ALL, kwargs=no_kwargs_with_assets),  # filtered by scope
    "assets:asset_detail": Route(SEC_A, kwargs=asset_sec_a),
    "assets:asset_label": Route(SEC_A, kwargs=asset_sec_a),
    "assets:asset_create": Route(ASSET_ADD_ANYWHERE),
    "assets:asset_import": Route(ASSET_ADD_ANYWHERE),
    "assets:asset_import_template": Route(ASSET_ADD_ANYWHERE),
    "assets:asset_edit": Route(ASSET_CHANGE, kwargs=asset_sec_a),
    "assets:asset_dispose": Route(ASSET_CHANGE, ok=302, method="post", kwargs=asset_sec_a,
                                  data=lambda w: {"on": "2026-04-01", "method": "shredded", "record": "matrix"}),
    # Export needs a role with "export" somewhere; the rows are restricted to the user's scope.
    "assets:asset_export": Route(ASSET_EXPORT_ANYWHERE, kwargs=no_kwargs_with_assets, query="?format=csv"),
    # Bulk edit needs "change" somewhere (else 404); a selection outside the user's scope is refused as a whole
    # with a message and a redirect (other_ciso: 302, nothing changed — tests/assets/test_pages.py checks that).
    "assets:asset_bulk_edit": Route(ASSET_ADD_ANYWHERE, ok=302, method="post", kwargs=no_kwargs_with_assets,
                                    data=lambda w: {"ids": [w.asset_sec_a.pk], "tier": "lgwan"}),
    "assets:asset_bulk_form": Route(ASSET_ADD_ANYWHERE, query="?next=tier%3Dlgwan"),
    "assets:scheme_list": Route(ALL),
    "assets:scheme_detail": Route(CITY_MEMBERS, kwargs=active_scheme_of_city),
    "assets:handling_edit": Route(frozenset({"ciso", "chief"}), kwargs=level_of_city),
    # other_ciso's city has no schemes in the matrix world: nothing to switch, 404 like every non-admin.
    "assets:scheme_switch": Route(frozenset({"ciso", "chief"}), kwargs=no_kwargs_with_assets),
})


# --- the policy library (issue 4). The default documents of テスト市, a procedure named for staff_a with two
# published versions, and an exception of 課A; made on first use.
def _policy_world(w: Any) -> Any:
    if getattr(w, "procedure", None) is None:
        import datetime as dt

        from mamoru.core.context import acting_as
        from mamoru.policy import services as policy_services
        from mamoru.policy.defaults import default_documents_load

        with acting_as(label="matrix"):
            default_documents_load(w.units["city"])
            w.procedure = policy_services.document_create(
                municipality=w.units["city"], kind="procedure", slug="matrix-procedure", title="matrix procedure",
                readers=[w.people["staff_a"]])
            for n in (1, 2):
                version = policy_services.version_create(document=w.procedure, clauses=[policy_services.ClauseInput(
                    address="1", number="1", heading="目的", text=f"第{n}版の本文")])
                policy_services.version_publish_default(version=version, effective_on=dt.date(2026, 4, n))
            w.exception = policy_services.exception_request(
                org_unit=w.units["sec_a"], actor=w.user("manager_a"), clause="6(3)②", title="matrix exception",
                reason="matrix", compensating_measures="matrix", starts_on=dt.date(2026, 4, 1),
                ends_on=dt.date(2026, 9, 30))
    return w


def procedure(w: Any) -> dict[str, Any]:
    return {"slug": _policy_world(w).procedure.slug}


def procedure_v1(w: Any) -> dict[str, Any]:
    return {"slug": _policy_world(w).procedure.slug, "number": 1}


def procedure_clause(w: Any) -> dict[str, Any]:
    version = _policy_world(w).procedure.versions.get(number=1)
    return {"slug": w.procedure.slug, "number": 1, "pk": version.clause_set.get().pk}


def exception_sec_a(w: Any) -> dict[str, Any]:
    return {"pk": _policy_world(w).exception.pk}


def basic_policy(w: Any) -> dict[str, Any]:
    _policy_world(w)
    return {"slug": "basic-policy"}


PROCEDURE_READERS = frozenset({"ciso", "chief", "auditor", "staff_a"})  # the named reader and the overseers
POLICY_EDITORS = frozenset({"ciso", "chief"})
EXCEPTION_CHANGE = frozenset({"ciso", "chief", "dept_head_a", "manager_a", "sysadmin_a"})
POST_302 = {"ok": 302, "method": "post"}
ROUTES.update({
    "policy:document_list": Route(ALL, kwargs=lambda w: (_policy_world(w), {})[1]),
    "policy:search": Route(ALL, kwargs=lambda w: (_policy_world(w), {})[1], query="?q=目的"),
    "policy:document_detail": Route(PROCEDURE_READERS, kwargs=procedure),
    "policy:version_detail": Route(PROCEDURE_READERS, kwargs=procedure_v1),
    "policy:version_pdf": Route(PROCEDURE_READERS, kwargs=procedure_v1),
    "policy:version_diff": Route(PROCEDURE_READERS, kwargs=procedure),
    # Workflow steps: editors are redirected back with the result (or why the step does not apply).
    "policy:version_draft": Route(POLICY_EDITORS, kwargs=procedure, **POST_302),
    "policy:version_submit": Route(POLICY_EDITORS, kwargs=procedure_v1, **POST_302),
    "policy:version_return": Route(POLICY_EDITORS, kwargs=procedure_v1, **POST_302),
    "policy:version_approve": Route(POLICY_EDITORS, kwargs=procedure_v1, data=lambda w: {"kind": "ciso"},
                                    **POST_302),
    "policy:version_publish": Route(POLICY_EDITORS, kwargs=procedure_v1, data=lambda w: {"effective_on": "2027-04-01"},
                                    **POST_302),
    "policy:clause_edit": Route(POLICY_EDITORS, ok=302, kwargs=procedure_clause),  # v1 is published: read-only
    "policy:acknowledge": Route(PROCEDURE_READERS, kwargs=procedure_v1, **POST_302),
    "policy:exception_list": Route(ALL, kwargs=lambda w: (_policy_world(w), {})[1]),
    "policy:exception_create": Route(EXCEPTION_CHANGE | {"other_ciso"}, kwargs=lambda w: (_policy_world(w), {})[1]),
    "policy:exception_detail": Route(SEC_A, kwargs=exception_sec_a),
    "policy:exception_decide": Route(frozenset({"ciso"}), kwargs=exception_sec_a,
                                     data=lambda w: {"decision": "approve", "note": "matrix"}, **POST_302),
    "policy:exception_report": Route(EXCEPTION_CHANGE, kwargs=exception_sec_a, data=lambda w: {"report": "matrix"},
                                     **POST_302),
    "policy:exception_close": Route(EXCEPTION_CHANGE, kwargs=exception_sec_a, **POST_302),
    "policy:exception_renew": Route(EXCEPTION_CHANGE, kwargs=exception_sec_a,
                                    data=lambda w: {"ends_on": "2027-03-31", "reason": "matrix"}, **POST_302),
    "policy:review_list": Route(CITY_MEMBERS, kwargs=basic_policy),
    "policy:review_create": Route(POLICY_EDITORS, kwargs=basic_policy),
})


# --- the network inventory and segmentation verifier (issue 5). The demo network of テスト市 (the netcheck
# example inventory, two firewalls with rulesets, systems and terminals, one verification run); made on first use.
def _network_world(w: Any) -> Any:
    if not hasattr(w, "network_loaded"):
        from mamoru.network.demo import load_demo_network

        load_demo_network(w.units["city"])
        w.network_loaded = True
    return w


def _network(attr: str, model: str, **lookup: Any) -> Callable[[Any], dict[str, Any]]:
    def kwargs(w: Any) -> dict[str, Any]:
        from django.apps import apps

        _network_world(w)
        found = apps.get_model("network", model).objects.filter(**lookup).order_by("pk").first()
        return {"pk": found.pk}

    return kwargs


def _network_none(w: Any) -> dict[str, Any]:
    _network_world(w)
    return {}


def _network_policy_rule(w: Any) -> dict[str, Any]:
    from mamoru.network import services
    from mamoru.network.models import ZonePolicyRule

    _network_world(w)
    services.policy_customise(municipality=w.units["city"])
    return {"pk": ZonePolicyRule.objects.filter(municipality=w.units["city"]).order_by("-pk").first().pk}


NETWORK_READERS = frozenset({"ciso", "chief", "auditor"})  # oversight roles on the city itself
NETWORK_CITY_READERS = NETWORK_READERS | {"other_ciso"}  # their own city's pages (other_ciso: an empty one)
NETWORK_EDITORS = frozenset({"ciso", "chief"})
SECTION_EDITORS = frozenset({"ciso", "chief", "dept_head_a", "manager_a", "sysadmin_a"})

ROUTES.update({
    "network:overview": Route(NETWORK_CITY_READERS, kwargs=_network_none),
    "network:profile_edit": Route(ORG_ADMIN, kwargs=_network_none),
    "network:policy_customise": Route(ORG_ADMIN, kwargs=_network_none, **POST_302),
    "network:policy_rule_create": Route(ORG_ADMIN, kwargs=_network_none),
    "network:policy_rule_edit": Route(NETWORK_EDITORS, kwargs=_network_policy_rule),
    "network:policy_rule_delete": Route(NETWORK_EDITORS, kwargs=_network_policy_rule, **POST_302),
    "network:zone_create": Route(ORG_ADMIN, kwargs=_network_none),
    "network:zone_edit": Route(NETWORK_EDITORS, kwargs=_network("zone", "Zone", code="lgwan")),
    "network:gateway_create": Route(ORG_ADMIN, kwargs=_network_none),
    "network:gateway_edit": Route(NETWORK_EDITORS, kwargs=_network("gateway", "Gateway", name="mail-relay")),
    "network:flow_create": Route(ORG_ADMIN, kwargs=_network_none),
    "network:flow_edit": Route(NETWORK_EDITORS, kwargs=_network("flow", "DeclaredFlow", name="eltax")),
    "network:firewall_create": Route(ORG_ADMIN, kwargs=_network_none),
    "network:firewall_detail": Route(NETWORK_READERS, kwargs=_network("fw", "Firewall", name="fw-core")),
    "network:firewall_edit": Route(NETWORK_EDITORS, kwargs=_network("fw", "Firewall", name="fw-core")),
    "network:firewall_upload": Route(NETWORK_EDITORS, kwargs=_network("fw", "Firewall", name="fw-core"),
                                     **POST_302),
    "network:ruleset_download": Route(NETWORK_READERS, kwargs=_network("ruleset", "Ruleset")),
    "network:run_list": Route(NETWORK_CITY_READERS, kwargs=_network_none),
    "network:run_start": Route(ORG_ADMIN, kwargs=_network_none, **POST_302),
    "network:run_detail": Route(NETWORK_READERS, kwargs=_network("run", "VerificationRun")),
    "network:run_pdf": Route(NETWORK_READERS, kwargs=_network("run", "VerificationRun")),
    "network:inventory_export": Route(NETWORK_CITY_READERS, kwargs=_network_none),
    "network:inventory_import": Route(ORG_ADMIN, kwargs=_network_none),
    "network:system_list": Route(ALL, kwargs=_network_none),
    "network:system_create": Route(SECTION_EDITORS | {"other_ciso"}, kwargs=_network_none),
    "network:system_edit": Route(SECTION_EDITORS, kwargs=_network("system", "InformationSystem",
                                                                  org_unit__code="sec-a")),
    "network:terminal_list": Route(ALL, kwargs=_network_none),
    "network:terminal_create": Route(SECTION_EDITORS | {"other_ciso"}, kwargs=_network_none),
    "network:terminal_edit": Route(SECTION_EDITORS, kwargs=_network("terminal", "Terminal", org_unit__code="sec-a")),
})


# --- the mail quarantine of the 無害化 gateway (issue 6): one sanitized mail for staff_a (課A) with a removed
# attachment and staff_a's release request; the city's approver is the 情報セキュリティ管理者. Made on first use.
def _mail_world(w: Any) -> Any:
    if not hasattr(w, "mail_item"):
        from tests.quarantine.factories import item_for, release_for

        w.mail_item = item_for(w.people["staff_a"])
        w.mail_release = release_for(w.mail_item, w.people["staff_a"])
    return w


def _mail_item(w: Any) -> dict[str, Any]:
    return {"pk": _mail_world(w).mail_item.pk}


def _mail_release(w: Any) -> dict[str, Any]:
    return {"pk": _mail_world(w).mail_release.pk}


MAIL_READERS = frozenset({"ciso", "chief", "manager_a", "staff_a"})  # the recipient, their 管理者, city-wide roles
MAIL_APPROVERS = frozenset({"ciso", "chief", "manager_a"})
OVERSIGHT = frozenset({"ciso", "chief", "dept_head_a", "manager_a", "sysadmin_a", "auditor", "other_ciso"})

ROUTES.update({
    "quarantine:item_list": Route(ALL, kwargs=lambda w: (_mail_world(w), {})[1]),
    "quarantine:item_detail": Route(MAIL_READERS, kwargs=_mail_item),
    "quarantine:release_request": Route(MAIL_READERS, kwargs=_mail_item, **POST_302,
                                        data=lambda w: {"part_path": "", "reason": "matrix: needed for work"}),
    "quarantine:release_list": Route(MAIL_APPROVERS | {"other_ciso"}, kwargs=lambda w: (_mail_world(w), {})[1]),
    "quarantine:release_decide": Route(MAIL_APPROVERS, kwargs=_mail_release, **POST_302,
                                       data=lambda w: {"decision": "refuse", "note": "matrix"}),
    # Not yet approved: every reader is sent back to the mail with a message (302); others get 404.
    "quarantine:release_download": Route(MAIL_READERS, kwargs=_mail_release, ok=302),
    "quarantine:daily": Route(OVERSIGHT, kwargs=lambda w: (_mail_world(w), {})[1]),
    "quarantine:settings_edit": Route(ORG_ADMIN),
})


# --- self-inspection and audit (issue 7): this year's campaign of テスト市 with staff_a's answered checklist and
# one evidence file (submitted); an audit of 課B by the auditor persona, a finding and staff_b's corrective action.
def _inspection_world(w: Any) -> Any:
    if not hasattr(w, "campaign_now"):
        from mamoru.core.context import acting_as
        from mamoru.inspection import services as inspection_services
        from mamoru.inspection.models import ChecklistTemplate
        from tests.inspection.factories import PDF, answer_everything, assignment_of, audit_for, campaign_for

        w.campaign_now = campaign_for(w)
        w.assignment_staff_a = assignment_of(w.campaign_now, w, "staff_a")
        question = w.campaign_now.questions.filter(audience="all_staff").first()
        with acting_as(user=w.user("staff_a")):
            w.evidence_staff_a = inspection_services.evidence_add(
                assignment=w.assignment_staff_a, user=w.user("staff_a"), question_id=question.pk,
                filename="記録.pdf", data=PDF)
            # Submitted: the owner's own delete is then refused (302) and the file stays for the next persona.
            answer_everything(w.assignment_staff_a, w.user("staff_a"))
        w.question_pk = question.pk
        w.template_pk = ChecklistTemplate.objects.filter(municipality=w.units["city"]).order_by("pk").first().pk
        audit_for(w)
    return w


def _insp(attr: str) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"pk": getattr(_inspection_world(w), attr).pk}


def _insp_none(w: Any) -> dict[str, Any]:
    _inspection_world(w)
    return {}


def _template_question(w: Any) -> dict[str, Any]:
    from mamoru.inspection.models import TemplateQuestion

    return {"pk": TemplateQuestion.objects.filter(template_id=_inspection_world(w).template_pk).first().pk}


INSPECTION_ADMIN = frozenset({"ciso", "chief"})
ASSIGNMENT_READERS = frozenset({"ciso", "chief", "auditor", "dept_head_a", "manager_a", "sysadmin_a", "staff_a"})
RESULT_READERS = frozenset({"ciso", "chief", "auditor", "dept_head_a", "manager_a", "sysadmin_a"})
FINDING_SEC_B = frozenset({"ciso", "chief", "auditor", "staff_b"})  # city-wide oversight and the action's owner

ROUTES.update({
    "inspection:home": Route(ALL, kwargs=_insp_none),
    "inspection:template_list": Route(OVERSIGHT, kwargs=_insp_none),
    "inspection:template_generate": Route(ORG_ADMIN, kwargs=_insp_none, **POST_302),
    "inspection:template_detail": Route(CITY_WIDE, kwargs=lambda w: {"pk": _inspection_world(w).template_pk}),
    "inspection:question_create": Route(INSPECTION_ADMIN, kwargs=lambda w: {"pk": _inspection_world(w).template_pk}),
    "inspection:question_edit": Route(INSPECTION_ADMIN, kwargs=_template_question),
    "inspection:campaign_create": Route(ORG_ADMIN, kwargs=_insp_none),
    "inspection:campaign_detail": Route(CITY_MEMBERS, kwargs=_insp("campaign_now")),
    "inspection:campaign_close": Route(INSPECTION_ADMIN, kwargs=_insp("campaign_now"), **POST_302),
    "inspection:results": Route(RESULT_READERS, kwargs=_insp("campaign_now")),
    "inspection:results_xlsx": Route(RESULT_READERS, kwargs=_insp("campaign_now")),
    "inspection:results_pdf": Route(RESULT_READERS, kwargs=_insp("campaign_now")),
    "inspection:assignment_detail": Route(ASSIGNMENT_READERS, kwargs=_insp("assignment_staff_a")),
    # Only the owner's answers change; other readers are sent back with the reason (302).
    "inspection:assignment_reopen": Route(ASSIGNMENT_READERS, kwargs=_insp("assignment_staff_a"), **POST_302),
    "inspection:evidence_download": Route(ASSIGNMENT_READERS, kwargs=_insp("evidence_staff_a")),
    "inspection:evidence_delete": Route(ASSIGNMENT_READERS, kwargs=_insp("evidence_staff_a"), **POST_302),
    "inspection:plan_list": Route(AUDIT, kwargs=_insp_none),
    "inspection:plan_create": Route(AUDIT, kwargs=_insp_none),
    "inspection:plan_detail": Route(CITY_WIDE, kwargs=_insp("audit_yearly")),
    "inspection:plan_approve": Route(frozenset({"ciso"}), kwargs=_insp("audit_medium"), **POST_302),
    "inspection:engagement_create": Route(CITY_WIDE, kwargs=_insp("audit_yearly")),
    "inspection:engagement_detail": Route(CITY_WIDE, kwargs=_insp("engagement")),
    "inspection:engagement_edit": Route(CITY_WIDE, kwargs=_insp("engagement")),
    # Only the engagement's auditors act on it; the CISO and 統括 are sent back with the reason (302).
    "inspection:engagement_advance": Route(CITY_WIDE, kwargs=_insp("engagement"), **POST_302),
    "inspection:note_add": Route(CITY_WIDE, kwargs=_insp("engagement"), **POST_302,
                                 data=lambda w: {"noted_on": "2026-11-01", "text": "matrix"}),
    "inspection:finding_add": Route(CITY_WIDE, kwargs=_insp("engagement"), **POST_302, data=lambda w: {
        "org_unit": w.units["sec_b"].pk, "title": "matrix", "severity": "low", "evidence": "m",
        "recommendation": "m"}),
    "inspection:engagement_pdf": Route(CITY_WIDE, kwargs=_insp("engagement")),
    "inspection:finding_list": Route(ALL, kwargs=_insp_none),
    "inspection:finding_detail": Route(FINDING_SEC_B, kwargs=_insp("audit_finding")),
    "inspection:action_add": Route(INSPECTION_ADMIN, kwargs=_insp("audit_finding"), **POST_302, data=lambda w: {
        "description": "matrix", "owner": w.people["staff_b"].pk, "due_on": "2099-01-01"}),
    "inspection:action_progress": Route(frozenset({"ciso", "chief", "staff_b"}), kwargs=_insp("corrective_action"),
                                        **POST_302, data=lambda w: {"status": "in_progress",
                                                                    "progress_note": "matrix"}),
    "inspection:action_follow_up": Route(CITY_WIDE, kwargs=_insp("corrective_action"), **POST_302,
                                         data=lambda w: {"decision": "accept", "verification_note": "matrix"}),
})
