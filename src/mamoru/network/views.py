"""Network pages: the inventory, firewall rulesets, verification runs and their reports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mamoru.core import audit
from mamoru.core.access import may
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit
from mamoru.core.views import get_restricted, message_form_errors, paginate
from mamoru.network import forms, selectors, services
from mamoru.network.filtersets import InformationSystemFilterSet, TerminalFilterSet
from mamoru.network.models import (
    DeclaredFlow,
    Firewall,
    Gateway,
    InformationSystem,
    NetworkProfile,
    Ruleset,
    Terminal,
    VerificationRun,
    Zone,
    ZonePolicyRule,
)

NOT_FOUND = gettext_lazy("Not found, or you do not have access to it.")
OVERVIEW = "network:overview"


def _city(request: HttpRequest, action: str = "view") -> OrgUnit:
    """The user's city for the network pages; 404 when they may not ``action`` its network inventory."""
    city = selectors.city_of(request.user, action)
    if city is None:
        raise Http404(NOT_FOUND)
    return city


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    city = _city(request)
    user = request.user
    firewalls = list(selectors.firewalls(user, city))
    current = {fw.pk: fw.current_ruleset() for fw in firewalls}
    ctx = {
        "city": city,
        "profile": NetworkProfile.objects.restrict(user, "view").filter(municipality=city).first(),
        "zones": selectors.zones(user, city),
        "gateways": selectors.gateways(user, city),
        "flows": selectors.flows(user, city),
        "firewalls": [(fw, current[fw.pk]) for fw in firewalls],
        "runs": selectors.runs(user, city)[:5],
        "systems": selectors.systems(user).filter(org_unit__path__startswith=city.path).count(),
        "terminals": selectors.terminals(user).filter(org_unit__path__startswith=city.path).count(),
        "can_change": may(user, "change", Zone),
        "policy": _policy_rows(user, city),
    }
    return render(request, "network/overview.html", ctx)


def _policy_rows(user: Any, city: OrgUnit) -> dict[str, Any]:
    """The city's zone policy for display, or the default of the seed when it has none of its own."""
    from mamoru.netcheck.inventory import DEFAULT_POLICY
    from mamoru.network.choices import GatewayKind, PolicyAllow, ZoneTier

    tiers = {**dict(ZoneTier.choices), "*": _("any other tier")}
    kinds = dict(GatewayKind.choices)
    allows = dict(PolicyAllow.choices)
    rules = list(ZonePolicyRule.objects.restrict(user, "view").filter(municipality=city))
    source = rules or [ZonePolicyRule(tier_a=r.a, tier_b=r.b, allow=r.allow, gateway_kinds=list(r.gateway_kinds),
                                      clause=r.clause) for r in DEFAULT_POLICY]
    rows = [{"pk": r.pk, "between": f"{tiers.get(r.tier_a, r.tier_a)} ↔ {tiers.get(r.tier_b, r.tier_b)}",
             "allow": allows.get(r.allow, r.allow), "kinds": ", ".join(str(kinds.get(k, k)) for k in r.gateway_kinds),
             "clause": r.clause} for r in source]
    return {"own": bool(rules), "rows": rows}


@login_required
@require_POST
def policy_customise(request: HttpRequest) -> HttpResponse:
    city = _city(request, "change")
    services.policy_customise(municipality=city)
    messages.success(request, _("The zone policy is now the city's own, starting from the default."))
    return redirect(OVERVIEW)


@login_required
def policy_rule_create(request: HttpRequest) -> HttpResponse:
    return _edit_city(request, forms.PolicyRuleForm, None, _("New zone policy rule"), reverse(OVERVIEW))


@login_required
def policy_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_restricted(ZonePolicyRule, request.user, "change", pk=pk)
    return _edit_city(request, forms.PolicyRuleForm, rule, _("Edit zone policy rule"), reverse(OVERVIEW))


@login_required
@require_POST
def policy_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_restricted(ZonePolicyRule, request.user, "delete", pk=pk)
    rule.delete()
    messages.success(request, _("The rule was removed from the zone policy."))
    return redirect(OVERVIEW)


def _edit_city(request: HttpRequest, form_class: Any, obj: Any, title: str, success: str | None = None) -> Any:
    """Create or edit a city-wide record (zones, gateways, flows, firewalls, the profile)."""
    city = _city(request, "change" if obj is not None else "add")
    if obj is not None and obj.municipality_id != city.pk:
        raise Http404(NOT_FOUND)
    form = form_class(request.POST or None, instance=obj, city=city)
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = form.save(commit=False)
                    saved.full_clean()
                    saved.save()
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(success or (saved.get_absolute_url() if hasattr(saved, "get_absolute_url")
                                            else reverse(OVERVIEW)))
        message_form_errors(request, form)
    return render(request, "core/edit_form.html", {"form": form, "title": title, "object": obj})


def _edit_scoped(request: HttpRequest, form_class: Any, obj: Any, title: str, success: str) -> Any:
    """Create or edit a section's record (systems, terminals)."""
    action = "change" if obj is not None else "add"
    if obj is None and not may(request.user, action, form_class._meta.model):
        raise Http404(NOT_FOUND)
    form = form_class(request.POST or None, instance=obj, user=request.user, action=action)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.full_clean()
            saved.save()
        messages.success(request, _("Saved."))
        return redirect(success)
    return render(request, "core/edit_form.html", {"form": form, "title": title, "object": obj})


@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    city = _city(request, "change")
    profile = NetworkProfile.objects.filter(municipality=city).first()
    return _edit_city(request, forms.ProfileForm, profile, _("Deployment model"), reverse(OVERVIEW))


@login_required
def zone_create(request: HttpRequest) -> HttpResponse:
    return _edit_city(request, forms.ZoneForm, None, _("New zone"), reverse(OVERVIEW))


@login_required
def zone_edit(request: HttpRequest, pk: int) -> HttpResponse:
    zone = get_restricted(Zone, request.user, "change", pk=pk)
    return _edit_city(request, forms.ZoneForm, zone, _("Edit zone"), reverse(OVERVIEW))


@login_required
def gateway_create(request: HttpRequest) -> HttpResponse:
    return _edit_city(request, forms.GatewayForm, None, _("New gateway"), reverse(OVERVIEW))


@login_required
def gateway_edit(request: HttpRequest, pk: int) -> HttpResponse:
    gateway = get_restricted(Gateway, request.user, "change", pk=pk)
    return _edit_city(request, forms.GatewayForm, gateway, _("Edit gateway"), reverse(OVERVIEW))


@login_required
def flow_create(request: HttpRequest) -> HttpResponse:
    return _edit_city(request, forms.FlowForm, None, _("New declared flow"), reverse(OVERVIEW))


@login_required
def flow_edit(request: HttpRequest, pk: int) -> HttpResponse:
    flow = get_restricted(DeclaredFlow, request.user, "change", pk=pk)
    return _edit_city(request, forms.FlowForm, flow, _("Edit declared flow"), reverse(OVERVIEW))


@login_required
def firewall_create(request: HttpRequest) -> HttpResponse:
    return _edit_city(request, forms.FirewallForm, None, _("New firewall"))


@login_required
def firewall_edit(request: HttpRequest, pk: int) -> HttpResponse:
    firewall = get_restricted(Firewall, request.user, "change", pk=pk)
    return _edit_city(request, forms.FirewallForm, firewall, _("Edit firewall"))


@login_required
def firewall_detail(request: HttpRequest, pk: int) -> HttpResponse:
    firewall = get_restricted(Firewall, request.user, "view", pk=pk)
    rulesets = Ruleset.objects.restrict(request.user, "view").filter(firewall=firewall).select_related(
        "uploaded_by").defer("content")
    return render(request, "network/firewall_detail.html", {
        "firewall": firewall, "rulesets": rulesets, "form": forms.RulesetUploadForm(),
        "can_change": may(request.user, "change", Firewall)})


@login_required
@require_POST
def firewall_upload(request: HttpRequest, pk: int) -> HttpResponse:
    firewall = get_restricted(Firewall, request.user, "change", pk=pk)
    form = forms.RulesetUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        message_form_errors(request, form)
        return redirect(firewall)
    upload = form.cleaned_data["file"]
    try:
        ruleset = services.ruleset_upload(firewall=firewall, filename=upload.name, data=upload.read(),
                                          user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Ruleset %(file)s stored: %(rules)d rules, %(unknown)d constructs not "
                                    "understood.") % {"file": ruleset.filename, "rules": ruleset.rules,
                                                      "unknown": ruleset.unsupported})
    return redirect(firewall)


@login_required
def ruleset_download(request: HttpRequest, pk: int) -> HttpResponse:
    ruleset = get_restricted(Ruleset, request.user, "export", pk=pk)
    audit.event(AuditEvent.EXPORT, obj=ruleset, details={"firewall": ruleset.firewall.name})
    response = HttpResponse(ruleset.content, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ruleset.firewall.name}-{ruleset.pk}.txt"'
    return response


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    city = _city(request, "change")
    run = services.verification_run(municipality=city, user=request.user)
    if run.error:
        messages.error(request, run.error)
    elif run.violations:
        messages.warning(request, _("%(n)d violation(s) of the zone policy found.") % {"n": run.violations})
    else:
        messages.success(request, _("Every verified firewall complies with the zone policy."))
    return redirect(run)


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    city = _city(request)
    page = paginate(request, selectors.runs(request.user, city))
    return render(request, "network/run_list.html", {"page": page, "city": city})


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_restricted(VerificationRun, request.user, "view", pk=pk)
    return render(request, "network/run_detail.html", {"run": run, "report": run.report,
                                                       "spoofing": _warnings(run, "spoofing"),
                                                       "other_warnings": _warnings(run, None)})


def _warnings(run: VerificationRun, kind: str | None) -> list[dict[str, Any]]:
    items = run.report.get("warnings", []) if run.report else []
    return [w for w in items if (w["kind"] == kind if kind else w["kind"] != "spoofing")]


@login_required
def run_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_restricted(VerificationRun, request.user, "export", pk=pk)
    from mamoru.network.exports import run_report_pdf

    audit.event(AuditEvent.EXPORT, obj=run, details={"format": "pdf"})
    response = HttpResponse(run_report_pdf(run), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="netcheck-{run.pk}.pdf"'
    return response


@login_required
def inventory_export(request: HttpRequest) -> HttpResponse:
    city = _city(request)
    if not may(request.user, "export", Zone):
        raise Http404(NOT_FOUND)
    audit.event(AuditEvent.EXPORT, object_type="network.inventory", object_repr=_("Network inventory"),
                org_unit=city)
    response = HttpResponse(services.inventory_yaml(city), content_type="application/yaml; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="inventory-{stamp}.yaml"'
    return response


@login_required
def inventory_import(request: HttpRequest) -> HttpResponse:
    city = _city(request, "change")
    form = forms.InventoryImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                text = services.decode_text(form.cleaned_data["file"].read())
                counts = services.inventory_import(municipality=city, text=text)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("Imported: %(zones)d zones, %(gateways)d gateways, %(exceptions)d "
                                            "exceptions, %(firewalls)d firewalls, %(policy)d zone policy rules.")
                                 % counts)
                return redirect(OVERVIEW)
        else:
            message_form_errors(request, form)
    return render(request, "network/inventory_import.html", {"form": form})


@login_required
def system_list(request: HttpRequest) -> HttpResponse:
    fs = InformationSystemFilterSet(request.GET, queryset=selectors.systems(request.user))
    return render(request, "network/system_list.html", {
        "filter": fs, "page": paginate(request, fs.qs), "can_add": may(request.user, "add", InformationSystem)})


@login_required
def system_create(request: HttpRequest) -> HttpResponse:
    return _edit_scoped(request, forms.SystemForm, None, _("New information system"), reverse("network:system_list"))


@login_required
def system_edit(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_restricted(InformationSystem, request.user, "change", pk=pk)
    return _edit_scoped(request, forms.SystemForm, system, _("Edit information system"),
                        reverse("network:system_list"))


@login_required
def terminal_list(request: HttpRequest) -> HttpResponse:
    fs = TerminalFilterSet(request.GET, queryset=selectors.terminals(request.user))
    return render(request, "network/terminal_list.html", {
        "filter": fs, "page": paginate(request, fs.qs), "can_add": may(request.user, "add", Terminal)})


@login_required
def terminal_create(request: HttpRequest) -> HttpResponse:
    return _edit_scoped(request, forms.TerminalForm, None, _("New terminal"), reverse("network:terminal_list"))


@login_required
def terminal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    terminal = get_restricted(Terminal, request.user, "change", pk=pk)
    return _edit_scoped(request, forms.TerminalForm, terminal, _("Edit terminal"), reverse("network:terminal_list"))
