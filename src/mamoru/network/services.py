"""Write side of the network inventory: ruleset uploads, inventory file import/export, verification runs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit
from mamoru.netcheck.inventory import DEFAULT_POLICY, parse_inventory
from mamoru.netcheck.model import ParseError
from mamoru.netcheck.parsers import parse_ruleset
from mamoru.netcheck.report import verify
from mamoru.network.choices import RunStatus
from mamoru.network.models import (
    DeclaredFlow,
    Firewall,
    Gateway,
    Ruleset,
    VerificationRun,
    Zone,
    ZonePolicyRule,
    split_services,
)

MAX_RULESET_BYTES = 50 * 1024 * 1024
EXTENSIONS = {"iptables": "rules", "nftables": "json", "csv": "csv"}


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932; raises ValidationError."""
    if b"\x00" in data[:8192]:
        raise ValidationError(_("The file is not text (it contains NUL bytes)."))
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is neither UTF-8 nor Shift_JIS (CP932) text."))


def parse_error_message(exc: ParseError) -> str:
    if exc.line:
        return _("Line %(line)d: %(reason)s") % {"line": exc.line, "reason": exc.reason}
    return str(exc.reason)


@transaction.atomic
def ruleset_upload(*, firewall: Firewall, filename: str, data: bytes, user: Any) -> Ruleset:
    """Store a new ruleset for ``firewall`` after the engine has read it; an unreadable one is refused
    with the line and the reason, and nothing is stored."""
    if len(data) > MAX_RULESET_BYTES:
        raise ValidationError(_("The file is %(size)d MB; rulesets up to %(limit)d MB are accepted.") % {
            "size": len(data) // (1024 * 1024), "limit": MAX_RULESET_BYTES // (1024 * 1024)})
    text = decode_text(data)
    try:
        parsed = parse_ruleset(text, format=firewall.format, source=filename)
    except ParseError as exc:
        raise ValidationError(_("The ruleset cannot be read as %(format)s. %(error)s") % {
            "format": firewall.get_format_display(), "error": parse_error_message(exc)}) from exc
    rules = sum(len(chain.rules) for chain in parsed.chains.values())
    ruleset = Ruleset(firewall=firewall, filename=filename[:200], content=text, rules=rules,
                      unsupported=len(parsed.unsupported), uploaded_by=user if user.is_authenticated else None)
    ruleset.full_clean()
    ruleset.save()
    return ruleset


def inventory_document(municipality: OrgUnit) -> dict[str, Any]:
    """The city's inventory in the netcheck file format (rulesets named ``<firewall>.<ext>``)."""
    zones = Zone.objects.filter(municipality=municipality)
    doc: dict[str, Any] = {
        "zones": {z.code: {"tier": z.tier, "cidrs": z.cidr_list()} for z in zones},
        "gateways": [{"name": g.name, "kind": g.kind, "address": g.address, "ports": split_services(g.services)}
                     for g in Gateway.objects.filter(municipality=municipality)],
        "exceptions": [{"name": f.name, "from": f.source.code, "to": f.destination,
                        "ports": split_services(f.services), "reason": f.purpose}
                       for f in DeclaredFlow.objects.filter(municipality=municipality, is_exception=True)
                       .select_related("source")],
        "firewalls": [{"name": fw.name, "format": fw.format, "ruleset": f"{fw.name}.{EXTENSIONS[fw.format]}",
                       "interfaces": dict(fw.interfaces)}
                      for fw in Firewall.objects.filter(municipality=municipality)],
    }
    rules = ZonePolicyRule.objects.filter(municipality=municipality)
    if rules:  # else the engine's default, the seed's policy
        doc["policy"] = [{"between": [r.tier_a, r.tier_b], "allow": r.allow, "gateway_kinds": list(r.gateway_kinds),
                          "clause": r.clause} for r in rules]
    return doc


@transaction.atomic
def policy_customise(*, municipality: OrgUnit) -> list[ZonePolicyRule]:
    """Give the city its own zone policy, starting from the default (seed 6(3)); idempotent."""
    existing = list(ZonePolicyRule.objects.filter(municipality=municipality))
    if existing:
        return existing
    rules = []
    for order, rule in enumerate(DEFAULT_POLICY, start=1):
        item = ZonePolicyRule(municipality=municipality, order=order * 10, tier_a=rule.a, tier_b=rule.b,
                              allow=rule.allow, gateway_kinds=list(rule.gateway_kinds), clause=rule.clause)
        item.full_clean()
        item.save()
        rules.append(item)
    return rules


def inventory_yaml(municipality: OrgUnit) -> str:
    return yaml.safe_dump(inventory_document(municipality), allow_unicode=True, sort_keys=False)


@transaction.atomic
def inventory_import(*, municipality: OrgUnit, text: str) -> dict[str, int]:
    """Create or update zones, gateways, exceptions and firewalls from an inventory file (all or nothing).
    Entries are matched by zone code and by name; nothing is deleted."""
    try:
        inventory = parse_inventory(text, source="inventory.yaml", base=Path("."))
    except ParseError as exc:
        raise ValidationError(_("The inventory cannot be read. %(error)s") % {"error": parse_error_message(exc)}) \
            from exc
    counts = {"zones": 0, "gateways": 0, "exceptions": 0, "firewalls": 0, "policy": 0}
    zones: dict[str, Zone] = {}
    for z in inventory.zones.values():
        zone = Zone.objects.filter(municipality=municipality, code=z.name).first() or Zone(
            municipality=municipality, code=z.name, name=z.name)
        zone.tier, zone.cidrs = z.tier, " ".join(z.cidrs)
        zone.full_clean()
        zone.save()
        zones[z.name] = zone
        counts["zones"] += 1
    for g in inventory.gateways:
        gateway = Gateway.objects.filter(municipality=municipality, name=g.name).first() or Gateway(
            municipality=municipality, name=g.name)
        gateway.kind, gateway.address = g.kind, g.address
        gateway.services = " ".join(s.text for s in g.services)
        gateway.full_clean()
        gateway.save()
        counts["gateways"] += 1
    for e in inventory.exceptions:
        flow = DeclaredFlow.objects.filter(municipality=municipality, name=e.name).first() or DeclaredFlow(
            municipality=municipality, name=e.name)
        flow.source, flow.destination = zones[e.source], e.destination
        flow.services, flow.purpose = " ".join(s.text for s in e.services), e.reason
        flow.is_exception = True
        if flow.approver_id is None or flow.approved_on is None:
            raise ValidationError(_("Exception “%(name)s” (line %(line)d) has no approver in Mamoru yet: register "
                                    "it as a declared flow with its approver first.") % {
                                      "name": e.name, "line": e.line})
        flow.full_clean()
        flow.save()
        counts["exceptions"] += 1
    for f in inventory.firewalls:
        firewall = Firewall.objects.filter(municipality=municipality, name=f.name).first() or Firewall(
            municipality=municipality, name=f.name)
        firewall.format, firewall.interfaces = f.format, dict(f.interfaces)
        firewall.full_clean()
        firewall.save()
        counts["firewalls"] += 1
    if inventory.policy is not DEFAULT_POLICY:  # the file has a policy section: it replaces the city's
        ZonePolicyRule.objects.filter(municipality=municipality).delete()
        for order, rule in enumerate(inventory.policy, start=1):
            item = ZonePolicyRule(municipality=municipality, order=order * 10, tier_a=rule.a, tier_b=rule.b,
                                  allow=rule.allow, gateway_kinds=list(rule.gateway_kinds), clause=rule.clause)
            if item.tier_a == "*":  # the model keeps "any other tier" on the second side
                item.tier_a, item.tier_b = item.tier_b, item.tier_a
            item.full_clean()
            item.save()
            counts["policy"] += 1
    audit.event(AuditEvent.IMPORT, object_type="network.inventory", object_repr=_("Network inventory"),
                details=counts, org_unit=municipality)
    return counts


def verification_run(*, municipality: OrgUnit, user: Any) -> VerificationRun:
    """Verify the city's current rulesets against its inventory and zone policy; store the whole report
    with the exact inventory it verified."""
    doc = inventory_document(municipality)
    files: dict[str, tuple[str, str]] = {}  # firewall → (path in the inventory, ruleset text)
    missing = []
    rulesets = []
    for fw in Firewall.objects.filter(municipality=municipality):
        ruleset = fw.current_ruleset()
        if ruleset is None:
            missing.append(fw.name)
            continue
        rulesets.append(ruleset)
        # The report names each rule's file as "<firewall>/<uploaded file name>".
        name = Path(ruleset.filename).name
        if name in ("", ".", ".."):
            name = f"ruleset.{EXTENSIONS[fw.format]}"
        files[fw.name] = (f"{fw.name}/{name}", ruleset.content)
    doc["firewalls"] = [{**f, "ruleset": files[f["name"]][0]} for f in doc["firewalls"] if f["name"] in files]
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    run = VerificationRun(municipality=municipality, started_by=user if user.is_authenticated else None,
                          inventory=text, status=RunStatus.FAILED)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mamoru-netcheck-") as folder:
        for path, content in files.values():
            (Path(folder) / path).parent.mkdir()
            (Path(folder) / path).write_text(content, encoding="utf-8")
        if doc["zones"]:
            _verify_into(run, text, folder, missing)
        else:
            run.error = _("The verification could not run: no zones are registered yet.")
    run.seconds = round(time.perf_counter() - started, 3)
    with transaction.atomic():
        run.full_clean()
        run.save()
        run.rulesets.set(rulesets)  # the run itself is audited
    return run


def _verify_into(run: VerificationRun, text: str, folder: str, missing: list[str]) -> None:
    try:
        report = verify(parse_inventory(text, source="inventory.yaml", base=Path(folder)))
    except ParseError as exc:
        run.error = _("The verification could not run: %(error)s") % {"error": exc}
        return
    data = report.as_dict()
    data["without_ruleset"] = missing
    run.report = _strip_paths(data, folder)
    run.status = RunStatus.COMPLIANT if report.compliant else RunStatus.VIOLATIONS
    run.violations, run.warnings, run.unsupported = len(report.violations), len(report.warnings), \
        len(report.unsupported)


def _strip_paths(value: Any, folder: str) -> Any:
    """File names in the report without the temporary folder they were verified in."""
    if isinstance(value, str):
        return value.replace(folder + "/", "")
    if isinstance(value, list):
        return [_strip_paths(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _strip_paths(v, folder) for k, v in value.items()}
    return value
