"""Policy checks of the three-tier model (NET-…): seed §2(9)–(13) and §6(3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check
from mamoru.network.choices import RunStatus, ZoneTier
from mamoru.network.models import Firewall, InformationSystem, NetworkProfile, Terminal, VerificationRun
from mamoru.network.presets import expected_tiers


def _cities(ctx: Any) -> Any:
    return ctx.municipalities()


def _latest_run(city: Any) -> VerificationRun | None:
    return VerificationRun.objects.filter(municipality=city).exclude(status=RunStatus.FAILED).order_by(
        "-created_at", "-pk").first()


@policy_check(code="NET-001", clause="6(3)", severity=Severity.HIGH,
              title=gettext_lazy("Firewall lets through traffic the zone policy forbids"))
def zone_violations(ctx: Any) -> Iterable[FindingData]:
    """Each violation of the latest verification run: firewall, zone pair, rule line, example packet."""
    for city in _cities(ctx):
        run = _latest_run(city)
        if run is None:
            continue
        names = {fw.name: fw for fw in Firewall.objects.filter(municipality=city)}
        for v in run.report.get("violations", []):
            firewall = names.get(v["firewall"])
            rule, example = v.get("rule") or {}, v.get("example") or {}
            key = f"{v['firewall']}:{v['from_zone']}>{v['to_zone']}:{rule.get('line', 0)}"
            yield FindingData(
                org_unit=city, object_type="network.firewall", object_id=key[:64],
                object_repr=f"{v['firewall']} {v['from_zone']} → {v['to_zone']}"[:200],
                message=_("Firewall %(fw)s lets %(src_zone)s → %(dst_zone)s traffic through against clause "
                          "%(clause)s: line %(line)s “%(text)s”, e.g. %(src)s → %(dst)s %(proto)s/%(dport)s.") % {
                    "fw": firewall.name if firewall else v["firewall"], "src_zone": v["from_zone"],
                    "dst_zone": v["to_zone"], "clause": v.get("clause", ""), "line": rule.get("line", "?"),
                    "text": rule.get("text", ""), "src": example.get("src", "?"), "dst": example.get("dst", "?"),
                    "proto": example.get("proto", "?"), "dport": example.get("dport", "?")})


@policy_check(code="NET-002", clause="6(3)①", severity=Severity.HIGH,
              title=gettext_lazy("My Number terminal without multi-factor login or export blocking"))
def mynumber_terminals(ctx: Any) -> Iterable[FindingData]:
    weak = Terminal.objects.filter(Q(multi_factor=False) | Q(export_blocked=False), tier=ZoneTier.MYNUMBER,
                                   **ctx.unit_lookup()).select_related("org_unit")
    for terminal in weak:
        missing = [str(label) for ok, label in ((terminal.multi_factor, _("multi-factor login")),
                                                (terminal.export_blocked, _("export blocking"))) if not ok]
        yield FindingData(org_unit=terminal.org_unit, obj=terminal, message=_(
            "My Number terminal %(name)s lacks %(missing)s.") % {"name": terminal.name,
                                                                 "missing": _(" and ").join(missing)})


@policy_check(code="NET-003", clause="2(9)", severity=Severity.MEDIUM,
              title=gettext_lazy("Information system in a tier its deployment model does not allow"))
def systems_in_wrong_tier(ctx: Any) -> Iterable[FindingData]:
    for city in _cities(ctx):
        profile = NetworkProfile.objects.filter(municipality=city).first()
        if profile is None:
            continue
        systems = InformationSystem.objects.filter(org_unit__path__startswith=city.path).select_related("org_unit")
        for system in systems:
            allowed = expected_tiers(profile.deployment_model, system.kind)
            if allowed is None or system.tier in allowed:
                continue
            yield FindingData(org_unit=system.org_unit, obj=system, message=_(
                "%(name)s (%(kind)s) is in the %(tier)s; under model %(model)s it belongs in: %(allowed)s.") % {
                "name": system.name, "kind": system.get_kind_display(), "tier": system.get_tier_display(),
                "model": profile.get_deployment_model_display(),
                "allowed": ", ".join(str(ZoneTier(t).label) for t in sorted(allowed))})


@policy_check(code="NET-004", clause="6(3)", severity=Severity.MEDIUM,
              title=gettext_lazy("Firewall ruleset not verified"))
def rulesets_not_verified(ctx: Any) -> Iterable[FindingData]:
    for city in _cities(ctx):
        run = _latest_run(city)
        verified = set(run.rulesets.values_list("pk", flat=True)) if run else set()
        for firewall in Firewall.objects.filter(municipality=city):
            current = firewall.current_ruleset()
            if current is None:
                message = _("Firewall %(fw)s has no ruleset: upload its current ruleset so it can be verified.")
            elif current.pk not in verified:
                message = _("The current ruleset of firewall %(fw)s (%(file)s) has not been verified yet.")
            else:
                continue
            yield FindingData(org_unit=city, obj=firewall, message=message % {
                "fw": firewall.name, "file": current.filename if current else ""})


@policy_check(code="NET-005", clause="6(3)", severity=Severity.LOW,
              title=gettext_lazy("Ruleset constructs the verifier does not understand"))
def unsupported_constructs(ctx: Any) -> Iterable[FindingData]:
    for city in _cities(ctx):
        run = _latest_run(city)
        if run is None:
            continue
        per_firewall: dict[str, int] = {}
        for item in run.report.get("unsupported", []):
            per_firewall[item["firewall"]] = per_firewall.get(item["firewall"], 0) + 1
        for firewall in Firewall.objects.filter(municipality=city, name__in=per_firewall):
            yield FindingData(org_unit=city, obj=firewall, message=_(
                "The verifier could not judge %(n)d places of firewall %(fw)s's ruleset: the traffic they "
                "decide is unknown. See the verification report.") % {"n": per_firewall[firewall.name],
                                                                     "fw": firewall.name})
