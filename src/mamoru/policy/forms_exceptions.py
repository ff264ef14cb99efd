"""Forms of the exception (例外措置) and review (見直し) pages. Choices are limited to what the user may act on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from mamoru.core.forms import ScopedForm
from mamoru.policy.choices import ReviewTrigger
from mamoru.policy.models import PolicyDocument, PolicyException, PolicyReview

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})

APPROVE, REJECT = "approve", "reject"


class ExceptionRequestForm(ScopedForm):
    """A new request, normal or emergency, for one of the sections where the user may add exceptions."""

    class Meta:
        model = PolicyException
        fields = ["org_unit", "emergency", "acted_on", "document", "clause", "title", "reason",
                  "compensating_measures", "starts_on", "ends_on"]
        widgets = {"starts_on": DATE, "ends_on": DATE, "acted_on": DATE, "reason": TEXT,
                   "compensating_measures": TEXT}
        help_texts = {
            "emergency": _("Tick this if the measure had to be taken before approval; the section then reports "
                           "on it within 7 days."),
            "acted_on": _("Emergency only: the date the measure was taken."),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, action="add", **kwargs)
        self.fields["document"].queryset = PolicyDocument.objects.restrict(  # type: ignore[attr-defined]
            user, "view").order_by("order", "title")
        if not self.is_bound:
            self.fields["starts_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The service checks the rest (dates in order, acted_on not in the future, the document's city).
        if not data.get("emergency"):
            data["acted_on"] = None
        elif data.get("acted_on") is None and "acted_on" not in self.errors:
            self.add_error("acted_on", _("Enter the date on which the emergency measure was taken."))
        return data

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ExceptionDecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("decision"), choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))])
    note = forms.CharField(label=_("note"), required=False, widget=TEXT)

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == APPROVE


class ExceptionReportForm(forms.Form):
    report = forms.CharField(label=_("report"), widget=TEXT,
                             help_text=_("What was done, why it could not wait, and how the risk was contained."))


class ExceptionRenewForm(forms.Form):
    ends_on = forms.DateField(label=_("new end date"), widget=DATE)
    reason = forms.CharField(label=_("why the exception is still needed"), widget=TEXT)

    def __init__(self, *args: Any, exception: PolicyException | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exception = exception

    def clean_ends_on(self) -> Any:
        ends_on = self.cleaned_data["ends_on"]
        if self.exception is not None and ends_on <= self.exception.ends_on:
            raise forms.ValidationError(_("The new end date must be after the current end date (%(date)s).")
                                        % {"date": self.exception.ends_on.isoformat()})
        return ends_on


class ReviewForm(forms.ModelForm):
    triggers = forms.MultipleChoiceField(label=capfirst(PolicyReview._meta.get_field("triggers").verbose_name),
                                         choices=ReviewTrigger.choices, widget=forms.CheckboxSelectMultiple,
                                         error_messages={"required": _("Choose at least one trigger.")})

    class Meta:
        model = PolicyReview
        fields = ["reviewed_on", "triggers", "trigger_note", "outcome", "summary"]
        widgets = {"reviewed_on": DATE, "trigger_note": TEXT, "summary": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["reviewed_on"].initial = timezone.localdate()

    def clean_reviewed_on(self) -> Any:
        reviewed_on = self.cleaned_data["reviewed_on"]
        if reviewed_on > timezone.localdate():
            raise forms.ValidationError(_("The review date cannot be in the future."))
        return reviewed_on

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
