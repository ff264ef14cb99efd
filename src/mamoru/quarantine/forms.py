"""Forms of the mail quarantine."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mamoru.quarantine.models import GatewaySettings, QuarantineItem


class ReleaseRequestForm(forms.Form):
    part_path = forms.ChoiceField(label=_("What do you need?"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text=_("Why the original is needed for your work (checked by the approver)."))

    def __init__(self, *args: Any, item: QuarantineItem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("The whole original message"))]
        for part in item.releasable_parts():
            label = part.get("filename") or part.get("content_type") or part.get("path")
            choices.append((str(part.get("path")), f"{label} ({part.get('detail') or part.get('action')})"))
        self.fields["part_path"].choices = choices
        self.fields["part_path"].required = False


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required when refusing."))


class GatewaySettingsForm(forms.ModelForm):
    class Meta:
        model = GatewaySettings
        fields = ["domains", "approver_role", "release_mode", "retention_days"]
        widgets = {"domains": forms.Textarea(attrs={"rows": 3})}

    def clean_domains(self) -> str:
        import re

        domains = [d.strip().lower().lstrip("@") for d in self.cleaned_data["domains"].split() if d.strip()]
        if not domains:
            raise ValidationError(_("Give at least one mail domain."))
        for domain in domains:
            if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+",
                                domain):
                raise ValidationError(_("“%(domain)s” is not a mail domain like city.example.lg.jp.")
                                      % {"domain": domain})
        taken = (GatewaySettings.objects.exclude(pk=self.instance.pk)
                 .values_list("domains", flat=True))
        used = {d.strip().lower() for text in taken for d in text.split()}
        clash = sorted(set(domains) & used)
        if clash:
            raise ValidationError(_("%(domain)s already belongs to another city's gateway.") % {"domain": clash[0]})
        return "\n".join(domains)
