"""Forms of the compliance app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class FindingAcceptForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for accepting the risk"), max_length=2000, strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why this finding is acceptable, and until when or under which conditions."))
