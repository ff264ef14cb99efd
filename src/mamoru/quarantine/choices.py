"""Enumerations of the mail quarantine. Labels are English msgids translated by the ja catalogue."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemStatus(models.TextChoices):
    SANITIZED = "sanitized", _("Sanitized and delivered as text")
    HELD = "held", _("Held whole in quarantine")


class Delivery(models.TextChoices):
    PENDING = "pending", _("Waiting for delivery")
    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Delivery deferred (retrying)")
    FAILED = "failed", _("Delivery failed (held for an operator)")


class ReleaseStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved (being delivered)")
    REFUSED = "refused", _("Refused")
    DELIVERED = "delivered", _("Delivered")
    AVAILABLE = "available", _("Approved (available for download)")
    EXPIRED = "expired", _("Expired")


class ApproverRole(models.TextChoices):
    SECTION_MANAGER = "section_manager", _("情報セキュリティ管理者 of the recipient's section")
    CSIRT = "csirt", _("CSIRT")
    CHIEF = "chief", _("統括情報セキュリティ責任者")


class ReleaseMode(models.TextChoices):
    DELIVER = "deliver", _("Deliver the original to the recipient through the relay")
    DOWNLOAD = "download", _("Make the original downloadable (on an internet-tier terminal)")


class GatewayEventKind(models.TextChoices):
    PROCESSED = "processed", _("Received and sanitized")
    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Deferred")
    FAILED = "failed", _("Failed")
    RELEASED = "released", _("Released original delivered")
