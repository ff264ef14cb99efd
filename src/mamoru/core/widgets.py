"""Widgets rendered in Python where the template engine is too slow for long option lists."""

from __future__ import annotations

import html
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def _escape(value: Any) -> str:
    """conditional_escape without its lazy-string wrapper: the stdlib escape Django's own calls."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


class FastSelect(forms.Select):
    """A single ``<select>`` with the markup of Django's template, built in Python.

    A section or person list has hundreds of options; rendering each through a template (even Jinja2)
    cost the register page several milliseconds per list. Option groups fall back to the template.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        if self.allow_multiple_selected:
            return super().render(name, value, attrs, renderer)
        formatted = self.format_value(value)
        selected = {formatted} if isinstance(formatted, str) else set(formatted)  # NullBooleanSelect: one str
        parts = [format_html('<select name="{}"{}>', name, flatatt(self.build_attrs(self.attrs, attrs)))]
        done = False
        for option_value, label in self._iter_choices():
            if isinstance(label, (list, tuple)):
                return super().render(name, value, attrs, renderer)
            text = "" if option_value is None else str(option_value)
            mark = not done and text in selected
            done = done or mark
            parts.append(f'  <option value="{_escape(text)}"{" selected" if mark else ""}>{_escape(label)}</option>')
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308  (every part is escaped by format_html or _escape)

    def _iter_choices(self) -> Any:
        """The choices, iterated once (list() would COUNT a model choice queryset first). A model choice
        queryset is read in one plain query: its own iterator() opens a server-side cursor on PostgreSQL,
        three round trips for a list of sections."""
        choices = self.choices
        if not isinstance(choices, ModelChoiceIterator):
            yield from choices
            return
        if choices.field.empty_label is not None:
            yield "", choices.field.empty_label
        for obj in list(choices.queryset):
            yield choices.choice(obj)
