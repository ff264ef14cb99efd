"""Restricted querysets: the one place where access is decided (architecture rule 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user: AbstractBaseUser | AnonymousUser, action: str = "view") -> RestrictedQuerySet:
        """Only the rows ``user`` may ``action``; see :mod:`mamoru.core.access`."""
        from mamoru.core.access import scope_filter

        return self.filter(scope_filter(self.model, user, action))


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):  # type: ignore[misc]
    def restrict(self, user: Any, action: str = "view") -> RestrictedQuerySet:
        return self.get_queryset().restrict(user, action)
