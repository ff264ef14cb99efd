"""Forms of the policy library pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mamoru.policy.choices import ApprovalKind
from mamoru.policy.models import Clause, PolicyDocument

DATE = forms.DateInput(attrs={"type": "date"})
MINUTES_MAX_BYTES = 20 * 1024 * 1024
MINUTES_TYPES = {".pdf", ".docx", ".xlsx", ".txt"}


class ClauseForm(forms.ModelForm):
    class Meta:
        model = Clause
        fields = ["heading", "text", "evidence", "implements"]
        widgets = {"text": forms.Textarea(attrs={"rows": 8}), "evidence": forms.Textarea(attrs={"rows": 2})}


class ApproveForm(forms.Form):
    kind = forms.ChoiceField(label=_("approval"), choices=ApprovalKind.choices, widget=forms.RadioSelect)
    decided_on = forms.DateField(label=_("committee decision date"), required=False, widget=DATE)
    minutes = forms.FileField(label=_("committee minutes"), required=False,
                              help_text=_("PDF, Word, Excel or text; at most 20 MB."))

    def clean_minutes(self) -> Any:
        minutes = self.cleaned_data.get("minutes")
        if minutes:
            name = minutes.name.lower()
            if not any(name.endswith(ext) for ext in MINUTES_TYPES):
                raise forms.ValidationError(_("Attach the minutes as PDF, Word, Excel or text."))
            if minutes.size > MINUTES_MAX_BYTES:
                raise forms.ValidationError(_("The minutes file is larger than 20 MB."))
        return minutes


class PublishForm(forms.Form):
    effective_on = forms.DateField(label=_("effective date"), widget=DATE)
    acknowledge_by = forms.DateField(label=_("acknowledge by"), required=False, widget=DATE)

    def __init__(self, *args: Any, document: PolicyDocument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["effective_on"].initial = today
        self.fields["acknowledge_by"].initial = today + dt.timedelta(days=document.acknowledge_days)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("acknowledge_by") and data.get("effective_on") and data["acknowledge_by"] < data["effective_on"]:
            raise forms.ValidationError(_("The acknowledgement date is before the effective date."))
        return data
