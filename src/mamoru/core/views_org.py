"""Create and edit pages for units, people and role assignments (CISO and 統括)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from mamoru.core.access import may
from mamoru.core.forms import OrgUnitForm, PersonForm, RoleAssignmentForm
from mamoru.core.models import OrgUnit, Person, RoleAssignment
from mamoru.core.views import get_restricted

FORMS = {OrgUnit: OrgUnitForm, Person: PersonForm, RoleAssignment: RoleAssignmentForm}


def _edit(request: HttpRequest, model: Any, obj: Any, title: str, success: Any) -> HttpResponse:
    action = "change" if obj is not None else "add"
    if obj is None and not may(request.user, action, model):
        raise Http404(_("Not found, or you do not have access to it."))
    form = FORMS[model](request.POST or None, instance=obj, user=request.user, action=action)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            if isinstance(saved, Person) and form.cleaned_data.get("username") and not saved.user_id:
                saved.user = get_user_model().objects.create_user(
                    username=form.cleaned_data["username"], email=saved.email)  # unusable password until reset
            saved.full_clean()
            saved.save()
        messages.success(request, _("Saved."))
        return redirect(success(saved))
    return render(request, "core/edit_form.html", {"form": form, "title": title, "object": obj})


@login_required
def orgunit_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, OrgUnit, None, _("New unit"), lambda o: o.get_absolute_url())


@login_required
def orgunit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_restricted(OrgUnit, request.user, "change", pk=pk)
    return _edit(request, OrgUnit, unit, _("Edit unit"), lambda o: o.get_absolute_url())


@login_required
def person_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, Person, None, _("New person"), lambda o: o.get_absolute_url())


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_restricted(Person, request.user, "change", pk=pk)
    return _edit(request, Person, person, _("Edit person"), lambda o: o.get_absolute_url())


@login_required
def assignment_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, RoleAssignment, None, _("New role assignment"), lambda o: o.person.get_absolute_url())


@login_required
def assignment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_restricted(RoleAssignment, request.user, "change", pk=pk)
    return _edit(request, RoleAssignment, assignment, _("Edit role assignment"),
                 lambda o: o.person.get_absolute_url())
