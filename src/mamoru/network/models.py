"""The network inventory (seed §2(9)–(13), §6(3)): zones, gateways, declared flows, firewalls and their
rulesets, information systems and terminals, and the verification runs of the netcheck engine."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.assets.models import InformationAsset
from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit, Person
from mamoru.network.choices import (
    DeploymentModel,
    GatewayKind,
    PolicyAllow,
    RulesetFormat,
    RunStatus,
    SystemKind,
    ZoneTier,
)

# The network map says where the city is weak: only roles with an oversight duty read it; the 統括
# (who runs the whole network) and the CISO change it.
NETWORK_ACTIONS: dict[str, frozenset[str]] = {
    "view": roles.OVERSIGHT, "export": roles.OVERSIGHT,
    "add": roles.ORG_ADMIN, "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN, "approve": roles.ORG_ADMIN,
}


class CityNetworkRecord(AuditedModel):
    """A record of the city's network map: scoped to the municipality, read by oversight roles, changed by
    the CISO and 統括 (NETWORK_ACTIONS)."""

    scope_path = "municipality"
    role_actions = NETWORK_ACTIONS
    staff_can_view = False

    class Meta:
        abstract = True


def services_validate(text: str) -> None:
    """``tcp/25 udp/53 tcp/1000-2000`` (spaces or commas); raises ValidationError naming the bad entry."""
    from mamoru.netcheck.inventory import parse_service

    entries = split_services(text)
    if not entries:
        raise ValidationError(_("Give at least one service, e.g. tcp/25."))
    for entry in entries:
        try:
            parse_service(entry)
        except ValueError as exc:
            raise ValidationError(_("“%(entry)s” is not a service like tcp/25, udp/53 or tcp/1000-2000 (%(why)s).")
                                  % {"entry": entry, "why": exc}) from exc


def split_services(text: str) -> list[str]:
    return [p for p in text.replace(",", " ").split() if p]


def cidrs_validate(text: str) -> None:
    entries = text.replace(",", " ").split()
    if not entries:
        raise ValidationError(_("Give at least one network, e.g. 10.20.0.0/16."))
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValidationError(_("“%(entry)s” is not a network like 10.20.0.0/16.") % {"entry": entry}) from exc


class NetworkProfile(CityNetworkRecord):
    """The municipality's deployment model (α, β, β', α'): it decides which systems belong in which tier."""

    municipality = models.OneToOneField(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                        related_name="network_profile", limit_choices_to={"parent": None})
    deployment_model = models.CharField(_("deployment model"), max_length=12, choices=DeploymentModel.choices,
                                        default=DeploymentModel.ALPHA)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("network profile")
        verbose_name_plural = _("network profiles")

    def __str__(self) -> str:
        return str(self.get_deployment_model_display())


class Zone(CityNetworkRecord):
    """A zone of the inventory file: a tier and its networks (longest prefix decides an address's zone)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="network_zones", limit_choices_to={"parent": None})
    code = models.SlugField(_("code"), max_length=40, help_text=_("The zone's name in the inventory file and "
                                                                  "in firewall interface maps."))
    name = models.CharField(_("name"), max_length=100)
    tier = models.CharField(_("tier"), max_length=12, choices=ZoneTier.choices)
    cidrs = models.TextField(_("networks"), validators=[cidrs_validate],
                             help_text=_("One or more networks, e.g. 10.20.0.0/16 (IPv4 or IPv6)."))
    vlan = models.CharField(_("VLAN"), max_length=40, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["municipality", "tier", "code"]
        constraints = [models.UniqueConstraint(fields=["municipality", "code"], name="zone_unique_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def cidr_list(self) -> list[str]:
        return self.cidrs.replace(",", " ").split()


ANY_OTHER_TIER = "*"


class ZonePolicyRule(CityNetworkRecord):
    """One rule of the city's zone policy: between two tiers (both directions) only what ``allow`` says.
    The first rule naming a pair of tiers decides it; a city without rules uses the default of the seed
    (mamoru.netcheck.inventory.DEFAULT_POLICY)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="zone_policy", limit_choices_to={"parent": None})
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    tier_a = models.CharField(_("tier"), max_length=12, choices=ZoneTier.choices)
    tier_b = models.CharField(_("and tier"), max_length=12,
                              choices=[(ANY_OTHER_TIER, _("any other tier")), *ZoneTier.choices])
    allow = models.CharField(_("allowed"), max_length=10, choices=PolicyAllow.choices)
    gateway_kinds = models.JSONField(_("gateway kinds"), default=list, blank=True,
                                     help_text=_("Only these kinds of gateway; none ticked means every kind."))
    clause = models.CharField(_("policy clause"), max_length=40, help_text=_("e.g. 6(3)②"))

    class Meta:
        verbose_name = _("zone policy rule")
        verbose_name_plural = _("zone policy rules")
        ordering = ["municipality", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.tier_a} ↔ {self.tier_b}: {self.allow} ({self.clause})"

    def clean(self) -> None:
        kinds = set(GatewayKind.values)
        if not isinstance(self.gateway_kinds, list) or not set(self.gateway_kinds) <= kinds:
            raise ValidationError({"gateway_kinds": _("Choose gateway kinds from the list.")})
        if self.tier_a == self.tier_b:
            raise ValidationError({"tier_b": _("Choose two different tiers (traffic within a tier is not judged).")})


class Gateway(CityNetworkRecord):
    """A registered endpoint through which tiers may meet (無害化 relays, screen transfer, security cloud…)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="network_gateways", limit_choices_to={"parent": None})
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=30, choices=GatewayKind.choices)
    address = models.GenericIPAddressField(_("address"))
    services = models.CharField(_("services"), max_length=200, validators=[services_validate],
                                help_text=_("Protocol and ports it serves, e.g. tcp/25 or tcp/8080."))
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        ordering = ["municipality", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="gateway_unique_name")]

    def __str__(self) -> str:
        return self.name


class DeclaredFlow(CityNetworkRecord):
    """A flow the city declares; an approved exception (e.g. 特定通信 to eLTAX) is allowed by the verifier."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="network_flows", limit_choices_to={"parent": None})
    name = models.CharField(_("name"), max_length=100)
    source = models.ForeignKey(Zone, verbose_name=_("from zone"), on_delete=models.PROTECT, related_name="+")
    destination = models.CharField(_("to (zone code or network)"), max_length=100)
    services = models.CharField(_("services"), max_length=200, validators=[services_validate])
    via = models.ForeignKey(Gateway, verbose_name=_("via gateway"), null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="flows")
    purpose = models.TextField(_("purpose"))
    is_exception = models.BooleanField(_("approved exception to the zone policy"), default=False)
    approver = models.ForeignKey(Person, verbose_name=_("approver"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    approved_on = models.DateField(_("approved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("declared flow")
        verbose_name_plural = _("declared flows")
        ordering = ["municipality", "name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="flow_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.is_exception and (self.approver_id is None or self.approved_on is None):
            raise ValidationError(_("An exception needs its approver and the date of approval."))
        target = self.destination.strip()
        if not target:
            return
        if self.municipality_id and Zone.objects.filter(municipality_id=self.municipality_id, code=target).exists():
            return
        try:
            ipaddress.ip_network(target, strict=False)
        except ValueError as exc:
            raise ValidationError({"destination": _("Give a zone code or a network such as 192.0.2.0/24.")}) from exc


class Firewall(CityNetworkRecord):
    """A firewall whose ruleset the verifier reads; ``interfaces`` maps its interfaces to zone codes."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="firewalls", limit_choices_to={"parent": None})
    name = models.SlugField(_("name"), max_length=60)
    format = models.CharField(_("ruleset format"), max_length=10, choices=RulesetFormat.choices)
    interfaces = models.JSONField(_("interfaces"), default=dict, blank=True,
                                  help_text=_("Interface → zone code, e.g. {\"eth0\": \"mynumber\"}."))
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("firewall")
        verbose_name_plural = _("firewalls")
        ordering = ["municipality", "name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="firewall_unique_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("network:firewall_detail", args=[self.pk])

    def current_ruleset(self) -> Ruleset | None:
        return self.rulesets.order_by("-uploaded_at", "-pk").first()

    def clean(self) -> None:
        if not isinstance(self.interfaces, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.interfaces.items()):
            raise ValidationError({"interfaces": _("Map each interface name to a zone code.")})
        if self.municipality_id:
            known = set(Zone.objects.filter(municipality_id=self.municipality_id).values_list("code", flat=True))
            unknown = sorted(set(self.interfaces.values()) - known)
            if unknown:
                raise ValidationError({"interfaces": _("Unknown zone code(s): %(codes)s") % {
                    "codes": ", ".join(unknown)}})


class Ruleset(CityNetworkRecord):
    """One uploaded ruleset of a firewall; the newest is the one verified. Kept for the run history."""

    firewall = models.ForeignKey(Firewall, verbose_name=_("firewall"), on_delete=models.CASCADE,
                                 related_name="rulesets")
    filename = models.CharField(_("file name"), max_length=200)
    content = models.TextField(_("content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    rules = models.PositiveIntegerField(_("rules"), default=0)
    unsupported = models.PositiveIntegerField(_("constructs not understood"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    scope_path = "firewall__municipality"
    audit_exclude = AuditedModel.audit_exclude | {"content"}

    class Meta:
        verbose_name = _("ruleset")
        verbose_name_plural = _("rulesets")
        ordering = ["firewall", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.firewall} / {self.filename}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.sha256 = hashlib.sha256(self.content.encode("utf-8")).hexdigest()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class InformationSystem(AuditedModel):
    """An information system (情報システム): its tier, owning section and 情報システム管理者."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("owning section"), on_delete=models.PROTECT,
                                 related_name="information_systems")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=SystemKind.choices)
    tier = models.CharField(_("tier"), max_length=12, choices=ZoneTier.choices)
    manager = models.ForeignKey(Person, verbose_name=_("system administrator (情報システム管理者)"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="managed_systems")
    assets = models.ManyToManyField(InformationAsset, verbose_name=_("related assets"), blank=True,
                                    related_name="systems")
    description = models.TextField(_("description"), blank=True)

    staff_can_view = False
    role_actions: ClassVar[dict[str, frozenset[str]] | None] = {"view": roles.OVERSIGHT,
                                                                "export": roles.OVERSIGHT}

    class Meta:
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return self.name


class Terminal(AuditedModel):
    """A terminal (端末): tier, owner, multi-factor login and export blocking (持ち出し不可設定 / USB control)."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("section"), on_delete=models.PROTECT,
                                 related_name="terminals")
    name = models.CharField(_("name or asset number"), max_length=100)
    tier = models.CharField(_("tier"), max_length=12, choices=ZoneTier.choices)
    owner = models.ForeignKey(Person, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="terminals")
    multi_factor = models.BooleanField(_("multi-factor login"), default=False)
    export_blocked = models.BooleanField(_("export blocked (持ち出し不可設定・USB制御)"), default=False)
    location = models.CharField(_("location"), max_length=200, blank=True)

    staff_can_view = False
    role_actions: ClassVar[dict[str, frozenset[str]] | None] = {"view": roles.OVERSIGHT,
                                                                "export": roles.OVERSIGHT}

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        ordering = ["org_unit__path", "name"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="terminal_unique_name")]

    def __str__(self) -> str:
        return self.name


class VerificationRun(CityNetworkRecord):
    """One run of the verifier over the city's inventory and current rulesets, with its whole report."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="verification_runs", limit_choices_to={"parent": None})
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("result"), max_length=12, choices=RunStatus.choices)
    violations = models.PositiveIntegerField(_("violations"), default=0)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    unsupported = models.PositiveIntegerField(_("not understood"), default=0)
    seconds = models.FloatField(_("duration (s)"), default=0)
    inventory = models.TextField(_("inventory (YAML)"))
    rulesets = models.ManyToManyField(Ruleset, verbose_name=_("rulesets"), related_name="runs", blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    audit_exclude = AuditedModel.audit_exclude | {"report", "inventory"}

    class Meta:
        verbose_name = _("verification run")
        verbose_name_plural = _("verification runs")
        ordering = ["municipality", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("network:run_detail", args=[self.pk])
