"""Choices of the policy library."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    BASIC_POLICY = "basic_policy", _("Basic policy (基本方針)")
    STANDARDS = "standards", _("Standards (対策基準)")
    PROCEDURE = "procedure", _("Procedure (実施手順)")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")


class ApprovalKind(models.TextChoices):
    CISO = "ciso", _("Approved by the CISO")
    COMMITTEE = "committee", _("Decision of the information security committee")


class ClauseKind(models.TextChoices):
    SECTION = "section", _("Section")
    CLAUSE = "clause", _("Clause")
    REQUIREMENT = "requirement", _("Requirement")


class ExceptionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")


class ReviewTrigger(models.TextChoices):
    YEARLY = "yearly", _("Yearly review")
    AUDIT = "audit", _("Audit results")
    SELF_INSPECTION = "self_inspection", _("Self-inspection results")
    INCIDENT = "incident", _("Security incident")
    LAW_CHANGE = "law_change", _("Change of laws (e.g. the duty to publish a cybersecurity policy)")
    ORGANISATION = "organisation", _("Change of organisation or systems")


class ReviewOutcome(models.TextChoices):
    NO_CHANGE = "no_change", _("No change needed")
    REVISE = "revise", _("Revision needed")
