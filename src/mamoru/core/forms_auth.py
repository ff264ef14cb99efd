"""Forms of sign-in, multi-factor authentication and password change."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

# Same wording whether the account is unknown, inactive or the password wrong: nothing is revealed.
INVALID_LOGIN = _("The user name or password is not correct. Both are case-sensitive.")


def _squeeze(value: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and drop spaces and hyphens people type."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value or ""))


class LoginForm(AuthenticationForm):
    error_messages = {"invalid_login": INVALID_LOGIN, "inactive": INVALID_LOGIN}

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("User name")
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
        self.fields["password"].label = _("Password")
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def get_invalid_login_error(self) -> forms.ValidationError:
        return forms.ValidationError(INVALID_LOGIN, code="invalid_login")


class TOTPForm(forms.Form):
    token = forms.CharField(
        label=_("Authentication code"), max_length=20,
        help_text=_("The 6-digit code shown in your authenticator app."),
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
            "spellcheck": "false", "size": 10}),
    )

    def clean_token(self) -> str:
        token = _squeeze(self.cleaned_data["token"])
        if not re.fullmatch(r"\d{6,8}", token):
            raise forms.ValidationError(_("Enter the 6-digit code from your authenticator app, digits only."),
                                        code="format")
        return token


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Recovery code"), max_length=32,
        help_text=_("One of the codes you saved when you set up multi-factor authentication."),
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "autocapitalize": "none", "autofocus": True,
            "spellcheck": "false", "size": 16}),
    )

    def clean_code(self) -> str:
        code = _squeeze(self.cleaned_data["code"]).lower()
        if not re.fullmatch(r"[a-z0-9]{4,16}", code):
            raise forms.ValidationError(_("Enter a recovery code exactly as it was shown to you."),
                                        code="format")
        return code
