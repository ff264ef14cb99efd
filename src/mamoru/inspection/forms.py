"""Forms of self-inspection and audit. Choice lists come from querysets the view restricted to the user's city."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mamoru.inspection.choices import ActionStatus, Audience, FindingSeverity, PlanKind
from mamoru.inspection.models import TemplateQuestion

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})


class _People(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name}（{obj.org_unit.name}）"


class _Person(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name}（{obj.org_unit.name}）"


class TemplateQuestionForm(forms.ModelForm):
    class Meta:
        model = TemplateQuestion
        fields = ["order", "requirement", "chapter", "chapter_heading", "text", "evidence_hint", "active"]
        widgets = {"text": TEXT}


class CampaignForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("fiscal year"), min_value=2000, max_value=2100,
                                     help_text=_("The year in which the fiscal year starts (April)."))
    title = forms.CharField(label=_("title"), max_length=200)
    starts_on = forms.DateField(label=_("starts on"), widget=DATE)
    due_on = forms.DateField(label=_("answers due"), widget=DATE)
    remind_every_days = forms.IntegerField(label=_("remind every (days)"), min_value=1, max_value=90, initial=7)
    audiences = forms.MultipleChoiceField(label=_("checklists"), choices=Audience.choices,
                                          widget=forms.CheckboxSelectMultiple, initial=Audience.values)
    sections = forms.ModelMultipleChoiceField(
        label=_("sections"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_("Leave empty for every section in the policy's scope."))

    def __init__(self, *args: Any, sections: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].queryset = sections
        if not self.is_bound:
            from mamoru.inspection.services import fiscal_year_of

            today = timezone.localdate()
            year = fiscal_year_of(today)
            self.initial.setdefault("fiscal_year", year)
            self.initial.setdefault("title", _("Self-inspection FY%(year)s") % {"year": year})
            self.initial.setdefault("starts_on", today)


class PlanForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=PlanKind.choices)
    parent = forms.ModelChoiceField(label=_("medium-term plan"), queryset=None, required=False,
                                    help_text=_("For a yearly plan: the medium-term plan it belongs to."))
    first_year = forms.IntegerField(label=_("first fiscal year"), min_value=2000, max_value=2100)
    title = forms.CharField(label=_("title"), max_length=200)
    objectives = forms.CharField(label=_("objectives and focus areas"), widget=TEXT, required=False)

    def __init__(self, *args: Any, parents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents


class EngagementForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    sections = forms.ModelMultipleChoiceField(label=_("audited sections"), queryset=None,
                                              widget=forms.SelectMultiple(attrs={"size": 8}))
    requirements = forms.CharField(label=_("requirements in scope"), required=False,
                                   help_text=_("Requirement numbers of the standards, e.g. 4.1-01 5.1-03 "
                                               "(separated by spaces or commas); empty for all."))
    systems = forms.ModelMultipleChoiceField(label=_("information systems in scope"), queryset=None,
                                             required=False, widget=forms.SelectMultiple(attrs={"size": 5}))
    auditors = _People(label=_("auditors"), queryset=None, widget=forms.SelectMultiple(attrs={"size": 5}))
    starts_on = forms.DateField(label=_("fieldwork from"), widget=DATE)
    ends_on = forms.DateField(label=_("fieldwork until"), widget=DATE)

    def __init__(self, *args: Any, sections: Any, systems: Any, auditors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].queryset = sections
        self.fields["systems"].queryset = systems
        self.fields["auditors"].queryset = auditors

    def clean_requirements(self) -> list[str]:
        import unicodedata

        text = unicodedata.normalize("NFKC", self.cleaned_data.get("requirements") or "")
        return [r for r in re.split(r"[\s,、，]+", text) if r]


class AdvanceForm(forms.Form):
    conclusion = forms.CharField(label=_("overall conclusion"), widget=TEXT, required=False)
    reported_on = forms.DateField(label=_("reported to the committee on"), widget=DATE, required=False)


class NoteForm(forms.Form):
    noted_on = forms.DateField(label=_("date"), widget=DATE)
    text = forms.CharField(label=_("note"), widget=TEXT)


class FindingForm(forms.Form):
    org_unit = forms.ModelChoiceField(label=_("audited section"), queryset=None)
    title = forms.CharField(label=_("title"), max_length=200)
    severity = forms.ChoiceField(label=_("severity"), choices=FindingSeverity.choices)
    requirement = forms.CharField(label=_("requirement"), max_length=40, required=False)
    evidence = forms.CharField(label=_("evidence (what was seen)"), widget=TEXT)
    recommendation = forms.CharField(label=_("recommendation"), widget=TEXT)

    def __init__(self, *args: Any, sections: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = sections


class ActionForm(forms.Form):
    description = forms.CharField(label=_("corrective action"), widget=TEXT)
    owner = _Person(label=_("person responsible"), queryset=None)
    due_on = forms.DateField(label=_("due"), widget=DATE)

    def __init__(self, *args: Any, owners: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class ProgressForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=[(ActionStatus.IN_PROGRESS, ActionStatus.IN_PROGRESS.label),
                                                           (ActionStatus.DONE, ActionStatus.DONE.label)])
    progress_note = forms.CharField(label=_("progress"), widget=TEXT)
    completed_on = forms.DateField(label=_("completed on"), widget=DATE, required=False)


class FollowUpForm(forms.Form):
    decision = forms.ChoiceField(label=_("follow-up"), choices=[("accept", _("Effective: close the action")),
                                                                ("return", _("Not sufficient: return it"))],
                                 widget=forms.RadioSelect)
    verification_note = forms.CharField(label=_("follow-up result"), widget=TEXT)
