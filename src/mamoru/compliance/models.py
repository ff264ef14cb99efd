"""Findings produced by the policy checks."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.core.models import AuditedModel, OrgUnit


class Finding(AuditedModel):
    """One problem a policy check found, tracked from first to last sighting.

    A finding is identified by (code, object_type, object_id); re-running the checks updates
    ``last_seen`` and re-opens nothing that was accepted. A finding no longer reported is resolved.
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

    audit_exclude = AuditedModel.audit_exclude | {"last_seen"}

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
