"""The mail quarantine of the 無害化 gateway (seed §2(13), §6(3)②).

The relay (``mamoru relay serve``) sanitizes internet mail for the LGWAN tier and keeps every original in its
content-addressed store; it reports what it did as event files, which ``mamoru quarantine ingest`` turns into the
rows below: one :class:`QuarantineItem` per message and recipient, and one :class:`GatewayEvent` per relay event
(the daily counts). Recipients ask for the release of an original or of one attachment; the city's configured
approver decides (:class:`ReleaseRequest`).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit, Person
from mamoru.core.querysets import RestrictedManager
from mamoru.quarantine.choices import (
    ApproverRole,
    Delivery,
    GatewayEventKind,
    ItemStatus,
    ReleaseMode,
    ReleaseStatus,
)

# Held mail is private: the recipient reads their own (self_lookup), a 情報セキュリティ管理者 their section's,
# the CSIRT, the CISO and the 統括 all of their city. Nobody edits an item by hand; approvers decide releases.
MAIL_READERS = frozenset({"ciso", "chief", "csirt", "section_manager"})
QUARANTINE_ACTIONS: dict[str, frozenset[str]] = {
    "view": MAIL_READERS, "export": MAIL_READERS, "approve": MAIL_READERS,
    "add": frozenset(), "change": frozenset(), "delete": frozenset(),
}


class GatewaySettings(AuditedModel):
    """The city's settings for its mail gateway: whose mail it is, who approves releases, how long to keep."""

    municipality = models.OneToOneField(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                        related_name="gateway_settings", limit_choices_to={"parent": None})
    domains = models.TextField(_("recipient domains"),
                               help_text=_("The city's mail domains, one per line (e.g. city.example.lg.jp). Mail "
                                           "for these domains belongs to this city's quarantine."))
    approver_role = models.CharField(_("release approver"), max_length=20, choices=ApproverRole.choices,
                                     default=ApproverRole.SECTION_MANAGER)
    release_mode = models.CharField(_("release by"), max_length=12, choices=ReleaseMode.choices,
                                    default=ReleaseMode.DELIVER)
    retention_days = models.PositiveIntegerField(_("retention (days)"), default=90,
                                                 validators=[MinValueValidator(1), MaxValueValidator(3650)],
                                                 help_text=_("Originals are deleted this many days after receipt."))

    scope_path = "municipality"
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": roles.ORG_ADMIN,
                    "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN, "approve": frozenset()}
    staff_can_view = False

    class Meta:
        verbose_name = _("mail gateway settings")
        verbose_name_plural = _("mail gateway settings")

    def __str__(self) -> str:
        return str(_("Mail gateway settings of %(city)s") % {"city": self.municipality})

    def domain_list(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.domains.split() if d.strip()]


class QuarantineItem(AuditedModel):
    """One message as one recipient received it from the gateway, with the original kept for release.

    Rows are written by the ingest command (bulk, from the relay's events), so their creation is not in the
    audit trail one by one: the ingest records one event per batch; every human action on them is audited.
    """

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("section"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="quarantine_items")
    recipient = models.ForeignKey(Person, verbose_name=_("recipient"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="quarantine_items")
    recipient_address = models.CharField(_("recipient address"), max_length=320)
    spool_id = models.CharField(_("relay message id"), max_length=64)
    quarantine_id = models.CharField(_("quarantine id"), max_length=40, db_index=True)
    original_sha256 = models.CharField(_("SHA-256 of the original"), max_length=64, db_index=True)
    original_size = models.PositiveBigIntegerField(_("size of the original (bytes)"), default=0)
    mail_from = models.CharField(_("envelope sender"), max_length=320, blank=True)
    sender = models.CharField(_("from"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=1000, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=ItemStatus.choices)
    hold_reason = models.CharField(_("reason held"), max_length=200, blank=True)
    converted = models.PositiveIntegerField(_("converted parts"), default=0)
    removed = models.PositiveIntegerField(_("removed parts"), default=0)
    disarmed = models.PositiveIntegerField(_("disarmed parts"), default=0)
    report = models.JSONField(_("sanitization report"), default=dict)
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices, default=Delivery.PENDING)
    delivery_detail = models.CharField(_("delivery detail"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("original kept until"))
    purged_at = models.DateTimeField(_("original deleted at"), null=True, blank=True)

    role_actions = QUARANTINE_ACTIONS
    self_lookup = "recipient__user"
    staff_can_view = False
    audit_exclude = frozenset({"created_at", "updated_at", "report"})

    class Meta:
        verbose_name = _("quarantined mail")
        verbose_name_plural = _("quarantined mail")
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["spool_id", "recipient_address"],
                                               name="quarantine_item_unique_recipient")]
        indexes = [models.Index(fields=["org_unit", "-received_at"], name="quarantine_unit_received")]

    def __str__(self) -> str:
        return f"{self.quarantine_id} {self.subject[:80]}"

    def get_absolute_url(self) -> str:
        return reverse("quarantine:item_detail", args=[self.pk])

    @property
    def original_available(self) -> bool:
        return self.purged_at is None

    def parts(self) -> list[dict[str, Any]]:
        """The report's parts (every original leaf part with its action and SHA-256)."""
        return list(self.report.get("parts", [])) if isinstance(self.report, dict) else []

    def releasable_parts(self) -> list[dict[str, Any]]:
        """Parts a recipient may ask for: those the gateway removed, disarmed or held."""
        return [p for p in self.parts() if p.get("action") in {"removed", "disarmed", "held"}]


class ReleaseRequest(AuditedModel):
    """A recipient asks for the original message (``part_path`` empty) or one original attachment."""

    item = models.ForeignKey(QuarantineItem, verbose_name=_("quarantined mail"), on_delete=models.CASCADE,
                             related_name="release_requests")
    part_path = models.CharField(_("part"), max_length=100, blank=True,
                                 help_text=_("Empty for the whole original message."))
    part_label = models.CharField(_("what is asked for"), max_length=300, blank=True)
    requested_by = models.ForeignKey(Person, verbose_name=_("requested by"), on_delete=models.PROTECT,
                                     related_name="release_requests")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=12, choices=ReleaseStatus.choices,
                              default=ReleaseStatus.REQUESTED)
    release_id = models.UUIDField(_("release id"), default=uuid.uuid4, unique=True, editable=False)
    decided_by = models.ForeignKey(Person, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="release_decisions")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    scope_path = "item__org_unit"
    role_actions = QUARANTINE_ACTIONS
    self_lookup = "requested_by__user"
    staff_can_view = False

    class Meta:
        verbose_name = _("release request")
        verbose_name_plural = _("release requests")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.item.quarantine_id} {self.part_label or _('original message')}"

    def get_absolute_url(self) -> str:
        return reverse("quarantine:item_detail", args=[self.item_id])


class GatewayEvent(models.Model):
    """One event the relay reported (machine log behind the daily counts; not edited by anyone)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    spool_id = models.CharField(_("relay message id"), max_length=64)
    kind = models.CharField(_("event"), max_length=12, choices=GatewayEventKind.choices)
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    at = models.DateTimeField(_("at"))
    day = models.DateField(_("day"), db_index=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    held = models.BooleanField(_("held whole"), default=False)
    converted = models.PositiveIntegerField(_("converted parts"), default=0)
    removed = models.PositiveIntegerField(_("removed parts"), default=0)
    disarmed = models.PositiveIntegerField(_("disarmed parts"), default=0)
    smtp_code = models.PositiveIntegerField(_("SMTP code"), null=True, blank=True)
    smtp_reply = models.CharField(_("SMTP reply"), max_length=500, blank=True)
    release_id = models.CharField(_("release id"), max_length=40, blank=True)
    # The relay may report one step per group of recipients: their digest is part of an event's identity.
    rcpt_key = models.CharField(max_length=16, blank=True)

    objects = RestrictedManager()
    scope_path: ClassVar[str | None] = "municipality"
    role_actions: ClassVar[dict[str, frozenset[str]] | None] = {
        "view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": frozenset(), "change": frozenset(),
        "delete": frozenset(), "approve": frozenset()}
    staff_can_view: ClassVar[bool] = False

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["spool_id", "kind", "attempt", "rcpt_key"],
                                               name="gateway_event_unique")]

    def __str__(self) -> str:
        return f"{self.spool_id} {self.kind}"


def spool_dir() -> str:
    """The relay's spool directory, shared with ``mamoru relay serve --spool`` (MAMORU_RELAY_SPOOL)."""
    return str(settings.RELAY_SPOOL_DIR)
