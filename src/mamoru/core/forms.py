"""Forms of the organisation pages. Choices are limited to what the user may act on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from mamoru.core.access import units_for
from mamoru.core.models import OrgUnit, Person, RoleAssignment


class ScopedForm(forms.ModelForm):
    """A model form whose org-unit choices are the units where the user may ``action`` this model."""

    unit_fields: tuple[str, ...] = ("org_unit",)

    def __init__(self, *args: Any, user: Any, action: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        units = units_for(user, action, self._meta.model).order_by("path")
        for name in self.unit_fields:
            if name in self.fields:
                self.fields[name].queryset = units  # type: ignore[attr-defined]


class OrgUnitForm(ScopedForm):
    unit_fields = ("parent",)

    class Meta:
        model = OrgUnit
        fields = ["parent", "code", "name", "name_kana", "kind", "scope_category", "in_scope", "sort_order"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].required = True


class PersonForm(ScopedForm):
    username = forms.CharField(label=_("user name (sign-in)"), max_length=150, required=False,
                               help_text=_("Leave empty for a person without a user account."))

    class Meta:
        model = Person
        fields = ["full_name", "full_name_kana", "kind", "org_unit", "employee_number", "title", "email",
                  "employer", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.user_id:
            self.fields["username"].initial = self.instance.user.username
            self.fields["username"].disabled = True

    def clean_username(self) -> str:
        username = self.cleaned_data.get("username", "").strip()
        if username and not self.instance.user_id and get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(_("This user name is already taken."))
        return username


class RoleAssignmentForm(ScopedForm):
    class Meta:
        model = RoleAssignment
        fields = ["person", "role", "org_unit", "covers_children", "valid_from", "valid_until", "note"]
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"}),
                   "valid_until": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.restrict(self.user, "view").filter(  # type: ignore[attr-defined]
            is_active=True).select_related("org_unit")
