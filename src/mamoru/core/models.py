"""Organisation, people, roles, role assignments, API tokens and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mamoru.core import roles
from mamoru.core.choices import AuditAction, PersonKind, ScopeCategory, UnitKind
from mamoru.core.querysets import RestrictedManager, RestrictedQuerySet


class AuditedModel(models.Model):
    """Base for every business model: restricted manager, timestamps, automatic audit trail.

    Class attributes read by :mod:`mamoru.core.access`:
    ``scope_path``   lookup path from the model to its OrgUnit ("" for OrgUnit itself, None: global);
    ``role_actions`` per-action overrides of the permission table;
    ``self_lookup``  lookup that matches the requesting user (they may always view their own row).
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RestrictedManager()

    scope_path: ClassVar[str | None] = "org_unit"
    role_actions: ClassVar[dict[str, frozenset[str]] | None] = None
    self_lookup: ClassVar[str | None] = None
    staff_can_view: ClassVar[bool] = True
    audit_exclude: ClassVar[frozenset[str]] = frozenset({"created_at", "updated_at"})

    class Meta:
        abstract = True


def root_id_of(path: str) -> int:
    """The municipality (tree root) id of a materialised path such as "/1/4/9/"."""
    return int(path.strip("/").split("/")[0])


class OrgUnit(AuditedModel):
    """A node of the organisation tree. The root is the municipality itself."""

    parent = models.ForeignKey("self", verbose_name=_("parent unit"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    name_kana = models.CharField(_("name (kana)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    scope_category = models.CharField(_("scope category"), max_length=20, choices=ScopeCategory.choices,
                                      default=ScopeCategory.MAYOR)
    in_scope = models.BooleanField(_("in scope of the policy"), default=True)
    sort_order = models.PositiveIntegerField(_("display order"), default=0)
    # Materialised path of ids, "/1/4/9/": subtree queries are one prefix match.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    scope_path = ""
    role_actions = {"add": roles.ORG_ADMIN, "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN,
                    "approve": frozenset(), "export": roles.ORG_ADMIN}
    audit_exclude = AuditedModel.audit_exclude | {"path", "depth"}

    class Meta:
        ordering = ["path"]
        verbose_name = _("organisational unit")
        verbose_name_plural = _("organisational units")
        constraints = [
            models.UniqueConstraint(fields=["parent", "code"], name="orgunit_unique_code_per_parent"),
            models.UniqueConstraint(fields=["code"], condition=Q(parent__isnull=True),
                                    name="orgunit_unique_root_code"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        old_path = self.path
        super().save(*args, **kwargs)
        parent_path = self.parent.path if self.parent_id else "/"
        new_path = f"{parent_path}{self.pk}/"
        if new_path != old_path:
            depth = new_path.count("/") - 2
            OrgUnit.objects.filter(pk=self.pk).update(path=new_path, depth=depth)
            self.path, self.depth = new_path, depth
            if old_path:
                # Moved: rewrite the subtree's paths in Python (trees are small; stays DB-portable).
                for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                    child_path = new_path + child.path[len(old_path):]
                    OrgUnit.objects.filter(pk=child.pk).update(path=child_path, depth=child_path.count("/") - 2)

    def get_absolute_url(self) -> str:
        return reverse("core:orgunit_detail", args=[self.pk])

    def clean(self) -> None:
        if self.parent_id is None and self.kind != UnitKind.MUNICIPALITY:
            raise ValidationError({"parent": _("Only a municipality can be the root of the tree.")})
        if self.parent_id is not None and self.kind == UnitKind.MUNICIPALITY:
            raise ValidationError({"kind": _("A municipality must be the root of its tree.")})
        if self.pk and self.parent_id:
            parent = OrgUnit.objects.get(pk=self.parent_id)
            if parent.path.startswith(self.path or "\0"):
                raise ValidationError({"parent": _("A unit cannot be placed under itself or its own sub-unit.")})

    @property
    def municipality(self) -> OrgUnit:
        return self if self.root_id == self.pk else OrgUnit.objects.get(pk=self.root_id)

    @property
    def root_id(self) -> int:
        return root_id_of(self.path) if self.path else self.pk

    def subtree(self) -> models.QuerySet[OrgUnit]:
        return OrgUnit.objects.filter(path__startswith=self.path)

    def ancestors(self) -> models.QuerySet[OrgUnit]:
        ids = [int(x) for x in self.path.strip("/").split("/") if x][:-1]
        return OrgUnit.objects.filter(pk__in=ids).order_by("depth")


class Person(AuditedModel):
    """Someone who handles the city's information assets: staff, contractor worker or auditor."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user account"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="person")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people")
    kind = models.CharField(_("kind"), max_length=20, choices=PersonKind.choices, default=PersonKind.STAFF)
    employee_number = models.CharField(_("staff number"), max_length=32, blank=True)
    full_name = models.CharField(_("name"), max_length=100)
    full_name_kana = models.CharField(_("name (kana)"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    employer = models.CharField(_("employer (contractors)"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    role_actions = {"add": roles.ORG_ADMIN, "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN,
                    "approve": frozenset(), "export": roles.ORG_ADMIN}
    self_lookup = "user"

    class Meta:
        ordering = ["org_unit__path", "full_name_kana", "full_name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("core:person_detail", args=[self.pk])


class Role(AuditedModel):
    """A role of the policy; rows are loaded by ``mamoru init`` from :data:`mamoru.core.roles.ROLES`."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    duty = models.TextField(_("duty"), blank=True)
    sort_order = models.PositiveIntegerField(_("display order"), default=0)

    scope_path = None  # not tied to a unit: every signed-in user reads the role list
    role_actions = {"add": frozenset(), "change": frozenset(), "delete": frozenset(),
                    "approve": frozenset(), "export": frozenset()}

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    @property
    def spec(self) -> roles.RoleSpec | None:
        return roles.ROLE_BY_CODE.get(self.code)


class RoleAssignmentQuerySet(RestrictedQuerySet):
    def active(self, on: Any = None) -> RoleAssignmentQuerySet:
        day = on or timezone.localdate()
        return self.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day),
                           Q(valid_until__isnull=True) | Q(valid_until__gte=day), person__is_active=True)


class RoleAssignment(AuditedModel):
    """Role × org unit × covers-children × validity."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.CASCADE,
                               related_name="assignments")
    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="assignments")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT,
                                 related_name="assignments")
    covers_children = models.BooleanField(_("covers sub-units"), default=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = RestrictedManager.from_queryset(RoleAssignmentQuerySet)()  # type: ignore[misc]
    role_actions = {"add": roles.ORG_ADMIN, "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN,
                    "approve": frozenset(), "export": roles.ORG_ADMIN}
    self_lookup = "person__user"

    class Meta:
        ordering = ["org_unit__path", "role__sort_order"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")

    def __str__(self) -> str:
        return f"{self.person} — {self.role} ({self.org_unit})"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The end date is before the start date.")})
        if self.person_id and self.org_unit_id and self.person.org_unit.root_id != self.org_unit.root_id:
            raise ValidationError({"org_unit": _("The unit belongs to another municipality.")})

    def is_active_on(self, day: Any) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or self.valid_until >= day)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(AuditedModel):
    """A personal API token. Only its SHA-256 is stored; the clear text is shown once at creation."""

    PREFIX = "mmr_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    scope_path = None
    self_lookup = "user"
    role_actions = {a: frozenset() for a in roles.ALL_ACTIONS}  # a token is its owner's business only
    audit_exclude = AuditedModel.audit_exclude | {"key_hash", "last_used_at"}

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        return raw, raw[:10], _hash_token(raw)

    @classmethod
    def lookup(cls, raw: str) -> ApiToken | None:
        return cls.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class AppendOnlyQuerySet(RestrictedQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The audit trail is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit trail is append-only.")

    # QuerySet.bulk_update goes through update(); bulk_create would skip the chain.
    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise PermissionError("Audit entries are written through mamoru.core.audit.record().")


class AuditEntry(models.Model):
    """One append-only, hash-chained entry of the audit trail."""

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    timestamp = models.DateTimeField(_("time"), db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)  # no FK: entries outlive users
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    source_ip = models.GenericIPAddressField(_("source address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    event = models.CharField(_("event"), max_length=40, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # The unit the entry belongs to (for scoping), as a plain id: entries outlive units.
    org_unit_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    org_unit_path = models.CharField(max_length=255, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()
    scope_path: ClassVar[str | None] = "org_unit_path"  # matched by path prefix, see access.py
    role_actions: ClassVar[dict[str, frozenset[str]] | None] = {
        "view": roles.AUDIT_READERS, "export": roles.AUDIT_READERS,
        "add": frozenset(), "change": frozenset(), "delete": frozenset(), "approve": frozenset()}
    self_lookup: ClassVar[str | None] = None
    staff_can_view: ClassVar[bool] = False

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit trail is append-only.")

    @property
    def event_label(self) -> str:
        """The translated name of an explicit event (the code itself for events unknown to this version)."""
        from mamoru.core.choices import AuditEvent

        try:
            return str(AuditEvent(self.event).label)
        except ValueError:
            return self.event

    def change_rows(self) -> list[tuple[str, Any, Any, bool]]:
        """(field, before, after, is_change) for changes; (key, value, None, False) for event details."""
        if not isinstance(self.changes, dict):
            return []
        rows: list[tuple[str, Any, Any, bool]] = []
        for key, value in self.changes.items():
            if self.action != AuditAction.EVENT and isinstance(value, list) and len(value) == 2:
                rows.append((key, value[0], value[1], True))
            else:
                rows.append((key, value, None, False))
        return rows


class AuditChainHead(models.Model):
    """Single row holding the last sequence number and hash; locked while appending."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"#{self.last_seq} {self.last_hash[:12]}"
