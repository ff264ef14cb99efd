"""Write-side operations on personal API tokens (keyword-only, validated, atomic, audited).

Only the SHA-256 of a token is stored; :func:`token_create` returns the clear text once and it is
never written anywhere else (not to the audit trail, not to the log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import ApiToken, OrgUnit, Person

# Longest lifetime the CLI and the token page offer (in days); no expiry at all is a separate choice.
MAX_LIFETIME_DAYS = 3650


class TokenStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    REVOKED = "revoked", gettext_lazy("Revoked")
    EXPIRED = "expired", gettext_lazy("Expired")


def token_status(token: ApiToken) -> TokenStatus:
    if token.revoked_at is not None:
        return TokenStatus.REVOKED
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return TokenStatus.EXPIRED
    return TokenStatus.ACTIVE


def owner_unit(user: Any) -> OrgUnit | None:
    """The home unit of a token's owner: audit entries about the token are scoped to it."""
    person = Person.objects.filter(user=user).select_related("org_unit").first()
    return person.org_unit if person else None


@transaction.atomic
def token_create(*, user: Any, name: str, expires_at: datetime | None = None,
                 actor: Any = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``. Returns the token and its clear text (shown once, never stored)."""
    if not user.is_active:
        raise ValidationError({"user": _("The account %(user)s is inactive; it cannot have API tokens.")
                               % {"user": user.get_username()}})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    raw, prefix, key_hash = ApiToken.generate()
    token = ApiToken(user=user, name=(name or "").strip(), key_prefix=prefix, key_hash=key_hash,
                     expires_at=expires_at)
    token.full_clean()
    token.save()
    audit.event(AuditEvent.TOKEN_CREATED, obj=token, actor=actor, org_unit=owner_unit(user),
                details={"owner": user.get_username(), "name": token.name, "key_prefix": prefix,
                         "expires_at": expires_at})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: Any) -> bool:
    """Revoke ``token``. Returns False (and records nothing) if it was already revoked."""
    locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if locked.revoked_at is not None:
        token.revoked_at = locked.revoked_at
        return False
    locked.revoked_at = timezone.now()
    locked.full_clean()
    locked.save(update_fields=["revoked_at", "updated_at"])
    token.revoked_at = locked.revoked_at
    audit.event(AuditEvent.TOKEN_REVOKED, obj=locked, actor=actor, org_unit=owner_unit(locked.user),
                details={"owner": locked.user.get_username(), "name": locked.name,
                         "key_prefix": locked.key_prefix})
    return True
