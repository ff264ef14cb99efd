"""Forms of the asset register pages. Choices are limited to what the user may act on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mamoru.assets import selectors
from mamoru.assets.choices import HandlingAspect, Tier
from mamoru.assets.models import ClassificationLevel, ClassificationScheme, HandlingRule, InformationAsset
from mamoru.core.access import units_for
from mamoru.core.forms import ScopedForm
from mamoru.core.models import Person
from mamoru.core.widgets import FastSelect

DATE = forms.DateInput(attrs={"type": "date"})


def visible_people(user: Any) -> Any:
    return Person.objects.restrict(user, "view").filter(is_active=True).select_related("org_unit").order_by(
        "org_unit__path", "full_name_kana", "full_name")


class AssetForm(ScopedForm):
    """Create/edit an asset: sections where the user may act, levels of the active scheme, visible people."""

    class Meta:
        model = InformationAsset
        fields = ["name", "description", "kind", "org_unit", "manager", "system_name", "tier", "storage_location",
                  "medium", "has_personal_info", "has_my_number", "confidentiality", "integrity", "availability",
                  "retention", "disposal_method", "last_inventory_on", "tags"]
        widgets = {"last_inventory_on": DATE, "description": forms.Textarea(attrs={"rows": 3}),
                   "org_unit": FastSelect, "manager": FastSelect}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = visible_people(self.user)  # type: ignore[attr-defined]
        levels = ClassificationLevel.objects.restrict(self.user, "view").filter(scheme__is_active=True)
        for axis in InformationAsset.AXES:
            self.fields[axis].queryset = levels.filter(axis=axis).order_by("-rank")  # type: ignore[attr-defined]

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class BulkEditForm(forms.Form):
    """Section, manager and/or tier for the selected rows; empty fields are left alone."""

    org_unit = forms.ModelChoiceField(label=_("section"), queryset=None, required=False,  # type: ignore[arg-type]
                                      widget=FastSelect)
    manager = forms.ModelChoiceField(label=_("manager"), queryset=None, required=False,  # type: ignore[arg-type]
                                     widget=FastSelect)
    tier = forms.ChoiceField(label=_("tier"), choices=[("", "—"), *Tier.choices], required=False)
    ids = forms.TypedMultipleChoiceField(coerce=int, required=True, widget=forms.MultipleHiddenInput,
                                         error_messages={"required": _("Select at least one asset.")})

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")  # shares the page with the filter form's id_tier, id_org_unit
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units_for(  # type: ignore[attr-defined]
            user, "change", InformationAsset).order_by("path")
        self.fields["manager"].queryset = visible_people(user)  # type: ignore[attr-defined]
        data = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        self.fields["ids"].choices = [(v, v) for v in data if str(v).isdigit()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(name) for name in ("org_unit", "manager", "tier")):
            raise forms.ValidationError(_("Choose a section, a manager or a tier to set."))
        return data

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("org_unit", "manager", "tier") if self.cleaned_data[name]}


class DisposeForm(forms.Form):
    on = forms.DateField(label=_("disposed on"), widget=DATE)
    method = forms.CharField(label=_("disposal method"), max_length=200, required=False)
    record = forms.CharField(label=_("disposal record"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Who disposed of it, how, and the certificate or log reference."))


class HandlingRulesForm(forms.Form):
    """The handling restrictions of one level: one text per heading; an empty text removes the heading."""

    def __init__(self, *args: Any, level: ClassificationLevel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level = level
        current = {r.aspect: r.text for r in level.handling_rules.all()}
        for aspect, label in HandlingAspect.choices:
            self.fields[aspect] = forms.CharField(label=label, required=False, initial=current.get(aspect, ""),
                                                  widget=forms.Textarea(attrs={"rows": 2}))

    @transaction.atomic
    def save(self) -> None:
        for aspect in HandlingAspect.values:
            text = self.cleaned_data[aspect].strip()
            rule = HandlingRule.objects.filter(level=self.level, aspect=aspect).first()
            if not text:
                if rule is not None:
                    rule.delete()
                continue
            if rule is None:
                rule = HandlingRule(level=self.level, aspect=aspect)
            elif rule.text == text:
                continue
            rule.text = text
            rule.full_clean()
            rule.save()


class SchemeSwitchForm(forms.Form):
    """Target scheme and, for each level of the active scheme in use, the level it becomes."""

    target = forms.ModelChoiceField(label=_("target scheme"), queryset=None)  # type: ignore[arg-type]

    def __init__(self, *args: Any, source: ClassificationScheme, schemes: Any,
                 target: ClassificationScheme | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = source
        self.fields["target"].queryset = schemes.filter(  # type: ignore[attr-defined]
            municipality_id=source.municipality_id).exclude(pk=source.pk)
        self.fields["target"].initial = target.pk if target else None
        self.level_fields: list[tuple[ClassificationLevel, str]] = []
        if target is None:
            return
        candidates = list(target.levels.order_by("axis", "-rank"))
        for level in selectors.used_levels(source):
            name = f"level_{level.pk}"
            choices = [(c.pk, c.label) for c in candidates if c.axis == level.axis]
            preset = selectors.default_target(level, candidates)
            self.fields[name] = forms.TypedChoiceField(
                label=f"{level.get_axis_display()}: {level.label}", coerce=int, choices=[("", "—"), *choices],
                initial=preset.pk if preset else None)
            self.level_fields.append((level, name))

    def mapping(self) -> dict[int, int]:
        return {level.pk: self.cleaned_data[name] for level, name in self.level_fields}
