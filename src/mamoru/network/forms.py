"""Forms of the network pages. Choices are limited to the city and to what the user may act on."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamoru.core.forms import ScopedForm
from mamoru.core.models import Person
from mamoru.network.choices import GatewayKind
from mamoru.network.models import (
    DeclaredFlow,
    Firewall,
    Gateway,
    InformationSystem,
    NetworkProfile,
    Terminal,
    Zone,
    ZonePolicyRule,
)

TEXT = forms.Textarea(attrs={"rows": 3})
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CityForm(forms.ModelForm):
    """A form for a city-wide network record: the view sets the municipality."""

    def __init__(self, *args: Any, city: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.city = city
        self.instance.municipality = city


class ProfileForm(CityForm):
    class Meta:
        model = NetworkProfile
        fields = ["deployment_model", "notes"]
        widgets = {"notes": TEXT}


class ZoneForm(CityForm):
    class Meta:
        model = Zone
        fields = ["code", "name", "tier", "cidrs", "vlan", "description"]
        widgets = {"cidrs": forms.Textarea(attrs={"rows": 2}), "description": TEXT}


class PolicyRuleForm(CityForm):
    gateway_kinds = forms.MultipleChoiceField(label=_("gateway kinds"), choices=GatewayKind.choices, required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text=_("Only these kinds of gateway; none ticked means every "
                                                          "kind. Used when only gateways are allowed."))

    class Meta:
        model = ZonePolicyRule
        fields = ["order", "tier_a", "tier_b", "allow", "gateway_kinds", "clause"]


class GatewayForm(CityForm):
    class Meta:
        model = Gateway
        fields = ["name", "kind", "address", "services", "description"]
        widgets = {"description": TEXT}


class FlowForm(CityForm):
    class Meta:
        model = DeclaredFlow
        fields = ["name", "source", "destination", "services", "via", "purpose", "is_exception", "approver",
                  "approved_on"]
        widgets = {"purpose": TEXT, "approved_on": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Zone.objects.filter(municipality=self.city)  # type: ignore[attr-defined]
        self.fields["via"].queryset = Gateway.objects.filter(municipality=self.city)  # type: ignore[attr-defined]
        self.fields["approver"].queryset = Person.objects.filter(  # type: ignore[attr-defined]
            org_unit__path__startswith=self.city.path, is_active=True)


class InterfacesField(forms.CharField):
    """``eth0=mynumber`` per line (or JSON) → {"eth0": "mynumber"}."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:
        text = (super().to_python(value) or "").strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(_("Write one interface=zone per line.")) from exc
            if not isinstance(data, dict):
                raise forms.ValidationError(_("Write one interface=zone per line."))
            return {str(k): str(v) for k, v in data.items()}
        result: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, zone = line.partition("=")
            if not sep or not name.strip() or not zone.strip():
                raise forms.ValidationError(_("Line %(n)d: write interface=zone, e.g. eth0=mynumber.") % {"n": number})
            result[name.strip()] = zone.strip()
        return result


class FirewallForm(CityForm):
    interfaces = InterfacesField(label=_("interfaces"), required=False,
                                 help_text=_("One interface=zone code per line, e.g. eth0=mynumber."))

    class Meta:
        model = Firewall
        fields = ["name", "format", "interfaces", "description"]
        widgets = {"description": TEXT}


class SystemForm(ScopedForm):
    class Meta:
        model = InformationSystem
        fields = ["org_unit", "name", "kind", "tier", "manager", "description"]
        widgets = {"description": TEXT}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = Person.objects.restrict(self.user, "view").filter(  # type: ignore[attr-defined]
            is_active=True)


class TerminalForm(ScopedForm):
    class Meta:
        model = Terminal
        fields = ["org_unit", "name", "tier", "owner", "multi_factor", "export_blocked", "location"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Person.objects.restrict(self.user, "view").filter(  # type: ignore[attr-defined]
            is_active=True)


class RulesetUploadForm(forms.Form):
    file = forms.FileField(label=_("ruleset file"), help_text=_(
        "iptables-save output, nft -j list ruleset, or the CSV policy export, as set for this firewall."))


class InventoryImportForm(forms.Form):
    file = forms.FileField(label=_("inventory file (YAML)"))
