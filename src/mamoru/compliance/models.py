"""Findings produced by the policy checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit

if TYPE_CHECKING:
    from mamoru.compliance.registry import PolicyCheck


class Finding(AuditedModel):
    """One problem a policy check found, tracked from first to last sighting.

    A finding is identified by (code, object_type, object_id, org_unit); re-running the checks updates
    ``last_seen`` (without an audit entry) and leaves accepted findings accepted. An open finding no
    longer reported is resolved; a resolved one reported again is re-opened
    (see :func:`mamoru.compliance.services.checks_run`).
    """

    code = models.CharField(_("code"), max_length=32, db_index=True)
    clause = models.CharField(_("policy clause"), max_length=64)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT,
                                 related_name="findings")
    message = models.TextField(_("message"))
    status = models.CharField(_("status"), max_length=10, choices=FindingStatus.choices,
                              default=FindingStatus.OPEN, db_index=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    accepted_reason = models.TextField(_("reason for acceptance"), blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("accepted by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")

    audit_exclude = AuditedModel.audit_exclude | {"last_seen"}
    # Findings map out weaknesses: only roles with an oversight duty read them (not staff, not contractors).
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT}
    staff_can_view = False

    class Meta:
        ordering = ["status", "-last_seen"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        constraints = [
            models.UniqueConstraint(fields=["code", "object_type", "object_id", "org_unit"],
                                    name="finding_unique_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.object_repr}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:finding_detail", args=[self.pk])

    @property
    def policy_check(self) -> PolicyCheck | None:
        """The registered check that produced this finding (None if it no longer exists)."""
        from mamoru.compliance.registry import REGISTRY

        return REGISTRY.get(self.code)
