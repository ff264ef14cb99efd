"""Template filters of the policy pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def linker(text: str, link: Any) -> SafeString:
    """Clause text with the glossary's terms linked (``link`` from selectors.glossary_linker)."""
    return link(text)  # type: ignore[no-any-return]
