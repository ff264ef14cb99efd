"""One filterset per model: used by list pages, exports and the API alike."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mamoru.core.choices import AuditAction, PersonKind, ScopeCategory, UnitKind
from mamoru.core.models import AuditEntry, OrgUnit, Person, Role, RoleAssignment
from mamoru.core.widgets import FastSelect


class AnyYesNo(FastSelect, forms.NullBooleanSelect):
    """Yes/no filter whose empty choice reads "any" (Django's own says "unknown"); rendered in Python."""

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class IdFilter(df.NumberFilter):
    """A filter by the id of a related row, set by links (e.g. a unit's people); kept as a hidden field.
    Only whole numbers within the database's id range pass (a float such as -7e253 overflowed the query)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


def _choices_set_per_request() -> list[tuple[int, str]]:
    return []  # a callable: the schema (drf-spectacular) then lists no enum for choices made per request


class IdChoiceFilter(df.TypedChoiceFilter):
    """A choice among rows the filterset reads once per request (``set_choices``), by id.

    A ModelChoiceFilter queries its rows to render its options and once more to check a value; the
    register's filter form had four of them. With the rows read by the filterset itself, one query
    serves the options, the validation and the page's labels.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", _choices_set_per_request)
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("empty_value", None)
        kwargs.setdefault("widget", FastSelect)
        super().__init__(*args, **kwargs)

    def set_choices(self, choices: list[tuple[int, str]]) -> None:
        self.extra["choices"] = [("", "---------"), *choices]
        self.__dict__.pop("_field", None)


class PerRequestFormMixin:
    """The filterset's form uses the fields its filters made for this instance, without Django's deep copy.

    ``Form.__init__`` deep-copies the class's fields so instances never share them; here the form class itself
    is made per filterset instance (django-filter's ``get_form_class``), so the copy only cost time — on the
    register page, several milliseconds copying the section and level choices on every request.
    """

    @property
    def form(self) -> Any:
        if not hasattr(self, "_form"):
            form_class = self.get_form_class()  # type: ignore[attr-defined]
            fields, form_class.base_fields = form_class.base_fields, {}
            data = self.data if self.is_bound else None  # type: ignore[attr-defined]
            form = form_class(data, prefix=self.form_prefix)  # type: ignore[attr-defined]
            form.fields = fields
            self._form = form
        return self._form


def YesNoFilter(**kwargs: object) -> df.BooleanFilter:
    return df.BooleanFilter(widget=AnyYesNo, **kwargs)


class OrgUnitFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search")
    kind = df.ChoiceFilter(label=_("kind"), choices=UnitKind.choices)
    scope_category = df.ChoiceFilter(label=_("scope category"), choices=ScopeCategory.choices)
    in_scope = YesNoFilter(label=_("in scope of the policy"))

    class Meta:
        model = OrgUnit
        fields = ["q", "kind", "scope_category", "in_scope", "parent"]

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(Q(name__icontains=value) | Q(name_kana__icontains=value) | Q(code__icontains=value))


class PersonFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="search")
    kind = df.ChoiceFilter(label=_("kind"), choices=PersonKind.choices)
    org_unit = IdFilter(label=_("unit"), method="in_unit")
    is_active = YesNoFilter(label=_("active"))

    class Meta:
        model = Person
        fields = ["q", "kind", "org_unit", "is_active"]

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(Q(full_name__icontains=value) | Q(full_name_kana__icontains=value)
                         | Q(employee_number__icontains=value) | Q(user__username__icontains=value))

    def in_unit(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        unit = OrgUnit.objects.filter(pk=value).first()
        return qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()


class RoleAssignmentFilterSet(df.FilterSet):
    role = df.ModelChoiceFilter(label=_("role"), queryset=Role.objects.all(), to_field_name="code")
    org_unit = IdFilter(label=_("unit"), field_name="org_unit_id")
    person = IdFilter(label=_("person"), field_name="person_id")

    class Meta:
        model = RoleAssignment
        fields = ["role", "org_unit", "person"]


class AuditEntryFilterSet(df.FilterSet):
    actor = df.CharFilter(label=_("who"), field_name="actor", lookup_expr="icontains")
    object_type = df.CharFilter(label=_("what (type)"), field_name="object_type", lookup_expr="icontains")
    object_id = df.CharFilter(label=_("object id"), field_name="object_id")
    q = df.CharFilter(label=_("what (object)"), field_name="object_repr", lookup_expr="icontains")
    action = df.ChoiceFilter(label=_("action"), choices=AuditAction.choices)
    event = df.CharFilter(label=_("event"), field_name="event")
    since = df.DateFilter(label=_("from"), field_name="timestamp", lookup_expr="date__gte")
    until = df.DateFilter(label=_("until"), field_name="timestamp", lookup_expr="date__lte")

    class Meta:
        model = AuditEntry
        fields = ["actor", "object_type", "object_id", "q", "action", "event", "since", "until"]
