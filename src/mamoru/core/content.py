"""Default content per municipality (classification schemes, policy documents …), loaded by ``mamoru init``.

Apps register an idempotent loader in their ``AppConfig.ready()``; ``init`` calls every loader for every
municipality after migrating (and after loading the demo city).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# loader(municipality) -> a short description of what it added ("" when nothing)
_LOADERS: list[tuple[str, Callable[[Any], str]]] = []


def register_default_content(name: str, loader: Callable[[Any], str]) -> None:
    if all(existing != name for existing, _ in _LOADERS):
        _LOADERS.append((name, loader))


def load_default_content() -> list[str]:
    from django.conf import settings
    from django.utils import translation

    from mamoru.core.models import OrgUnit

    done: list[str] = []
    with translation.override(settings.LANGUAGE_CODE):  # default texts in the site's language
        for municipality in OrgUnit.objects.filter(parent__isnull=True).order_by("pk"):
            for name, loader in _LOADERS:
                added = loader(municipality)
                if added:
                    done.append(f"{municipality.name}: {name}: {added}")
    return done
