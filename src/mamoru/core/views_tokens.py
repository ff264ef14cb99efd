"""The signed-in user's personal API tokens: list, create (clear text shown once), revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from mamoru.core import roles, services_tokens
from mamoru.core.access import record_denied
from mamoru.core.models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. the script that uses it."))
    expires_days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"), required=False, initial=90, min_value=1,
        max_value=services_tokens.MAX_LIFETIME_DAYS,
        help_text=gettext_lazy("Leave empty for a token that does not expire (not recommended)."))


def own_tokens(user: Any) -> Any:
    """The user's own tokens — personal even for a superuser, who could otherwise see everyone's."""
    return ApiToken.objects.restrict(user, roles.VIEW).filter(user=user)


@never_cache  # the page may carry a token in clear text: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    new_token: ApiToken | None = None
    raw = ""
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_days"]
        try:
            new_token, raw = services_tokens.token_create(
                user=request.user, name=form.cleaned_data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None, actor=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form = TokenCreateForm()
    tokens = [(t, services_tokens.token_status(t)) for t in own_tokens(request.user)]
    return render(request, "core/token_list.html",
                  {"form": form, "tokens": tokens, "new_token": new_token, "raw_token": raw})


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = own_tokens(request.user).filter(pk=pk).first()
    if token is None:  # someone else's token is as absent as a token that never existed
        record_denied(ApiToken, request.user, "change", pk=pk)
        raise Http404(_("Not found, or you do not have access to it."))
    if services_tokens.token_revoke(token=token, actor=request.user):
        messages.success(request, _("The token %(prefix)s… was revoked; it no longer works.")
                         % {"prefix": token.key_prefix})
    else:
        messages.info(request, _("The token %(prefix)s… had already been revoked.") % {"prefix": token.key_prefix})
    return redirect("core:token_list")
