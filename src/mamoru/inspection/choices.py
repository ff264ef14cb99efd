"""Choices of self-inspection (自己点検) and audit (監査)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    """Who answers a checklist (the requirement catalogue's ``audience`` codes)."""

    ALL_STAFF = "all_staff", _("All staff")
    SECURITY_MANAGER = "security_manager", _("Information security managers (情報セキュリティ管理者)")
    SYSTEM_ADMIN = "system_admin", _("Information system managers (情報システム管理者)")


class AnswerValue(models.TextChoices):
    YES = "yes", _("Yes")
    PARTLY = "partly", _("Partly")
    NO = "no", _("No")
    NOT_APPLICABLE = "na", _("Not applicable")


class CampaignStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AssignmentStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    DRAFT = "draft", _("Draft saved")
    SUBMITTED = "submitted", _("Submitted")


class PlanKind(models.TextChoices):
    MEDIUM_TERM = "medium_term", _("Medium-term plan (3 years)")
    YEARLY = "yearly", _("Yearly plan")


class EngagementStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    FIELDWORK = "fieldwork", _("Fieldwork")
    REPORTED = "reported", _("Reported")
    CLOSED = "closed", _("Closed")


class FindingSeverity(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")
    OBSERVATION = "observation", _("Observation")


class AuditFindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done, awaiting follow-up")
    CLOSED = "closed", _("Closed after follow-up")
