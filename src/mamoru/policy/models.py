"""The policy library: documents, their versions (clauses, glossary), acknowledgements, exceptions, reviews.

Who reads what (seed §10, issue 4):
* the basic policy and the standards, once published, are read by everyone of the municipality;
* a procedure (実施手順) only by the people it names, plus the CISO, 統括 and auditors — others get 404;
* drafts only by the CISO, 統括 and auditors (who also see every version of every document).
The grants of the CISO, 統括 and auditors reach documents through ``scope_path``; everyone else through
``readable_by`` (see mamoru.core.access).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit, Person
from mamoru.policy.choices import (
    ApprovalKind,
    ClauseKind,
    DocumentKind,
    ExceptionStatus,
    ReviewOutcome,
    VersionStatus,
)

EDITORS = roles.ORG_ADMIN  # CISO, 統括: draft, approve, publish
READERS_BY_ROLE = frozenset({"ciso", "chief", "auditor"})  # read every document and version of their city
DOCUMENT_ACTIONS: dict[str, frozenset[str]] = {
    roles.VIEW: READERS_BY_ROLE, roles.ADD: EDITORS, roles.CHANGE: EDITORS, roles.DELETE: EDITORS,
    roles.APPROVE: frozenset({"ciso"}), roles.EXPORT: READERS_BY_ROLE,
}
PUBLISHED = (VersionStatus.PUBLISHED,)


def _user_cities(user: Any) -> list[int]:
    from mamoru.core.access import user_municipality_ids

    return sorted(user_municipality_ids(user))


class PolicyDocument(AuditedModel):
    """A document of the policy: the basic policy, the standards, or a non-public procedure."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.PROTECT,
                                     related_name="+", editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    slug = models.SlugField(_("short name"), max_length=60,
                            help_text=_("Used in addresses and exports, e.g. basic-policy."))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_public = models.BooleanField(_("read by everyone of the municipality"), default=True)
    system_name = models.CharField(_("related information system"), max_length=200, blank=True)
    sections = models.ManyToManyField(OrgUnit, verbose_name=_("sections it applies to"), blank=True,
                                      related_name="policy_procedures")
    readers = models.ManyToManyField(Person, verbose_name=_("named readers"), blank=True,
                                     related_name="readable_procedures")
    acknowledge_days = models.PositiveSmallIntegerField(_("days to acknowledge a new version"), default=30)
    review_months = models.PositiveSmallIntegerField(_("review interval (months)"), default=12)
    order = models.PositiveSmallIntegerField(_("display order"), default=100)

    scope_path = "municipality"
    role_actions = DOCUMENT_ACTIONS
    staff_can_view = False

    class Meta:
        ordering = ["municipality", "order", "title"]
        verbose_name = _("policy document")
        verbose_name_plural = _("policy documents")
        constraints = [models.UniqueConstraint(fields=["municipality", "slug"], name="policy_document_slug")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("policy:document_detail", args=[self.slug])

    @classmethod
    def readable_by(cls, user: Any) -> Q:
        named = cls.readers.through.objects.filter(person__user=user, person__is_active=True).values(
            "policydocument_id")
        return Q(municipality_id__in=_user_cities(user)) & (Q(is_public=True) | Q(pk__in=named))


class PolicyVersion(AuditedModel):
    """One version of a document: draft → review → approved → published (then read-only)."""

    document = models.ForeignKey(PolicyDocument, verbose_name=_("document"), on_delete=models.CASCADE,
                                 related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=VersionStatus.choices,
                              default=VersionStatus.DRAFT)
    change_summary = models.TextField(_("summary of changes"), blank=True)
    created_by = models.ForeignKey(Person, verbose_name=_("drafted by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, blank=True)
    approval_kind = models.CharField(_("approval"), max_length=12, choices=ApprovalKind.choices, blank=True)
    approved_by = models.ForeignKey(Person, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    committee_decided_on = models.DateField(_("committee decision date"), null=True, blank=True)
    committee_minutes = models.FileField(_("committee minutes"), upload_to="policy/minutes/%Y/", blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_on = models.DateField(_("effective date"), null=True, blank=True)
    acknowledge_by = models.DateField(_("acknowledge by"), null=True, blank=True)

    scope_path = "document__municipality"
    role_actions = DOCUMENT_ACTIONS
    staff_can_view = False

    class Meta:
        ordering = ["document", "-number"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="policy_version_number")]

    def __str__(self) -> str:
        return _("%(title)s, version %(n)s") % {"title": self.document.title, "n": self.number}

    def get_absolute_url(self) -> str:
        return reverse("policy:version_detail", args=[self.document.slug, self.number])

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @classmethod
    def readable_by(cls, user: Any) -> Q:
        documents = PolicyDocument.objects.filter(PolicyDocument.readable_by(user)).values("pk")
        return Q(status__in=PUBLISHED, document__in=documents)


class VersionContent(AuditedModel):
    """Base of what a version consists of: readable exactly like its version."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("version"), on_delete=models.CASCADE)
    order = models.PositiveIntegerField(_("order"), default=0)

    scope_path = "version__document__municipality"
    role_actions = DOCUMENT_ACTIONS
    staff_can_view = False

    class Meta:
        abstract = True

    @classmethod
    def readable_by(cls, user: Any) -> Q:
        versions = PolicyVersion.objects.filter(PolicyVersion.readable_by(user)).values("pk")
        return Q(version__in=versions)


class Clause(VersionContent):
    """A numbered, addressable part of a version (e.g. 基本方針 6(3)②); requirements of the standards carry
    what self-inspection and audit need (roles, tiers, expected evidence, the basic-policy clause)."""

    parent = models.ForeignKey("self", verbose_name=_("part of"), null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children")
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    kind = models.CharField(_("kind"), max_length=12, choices=ClauseKind.choices, default=ClauseKind.CLAUSE)
    address = models.CharField(_("address"), max_length=40)
    number = models.CharField(_("number"), max_length=20, blank=True)
    heading = models.CharField(_("heading"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    audience = models.JSONField(_("self-inspection audience"), default=list, blank=True)
    evidence = models.TextField(_("expected evidence"), blank=True)
    implements = models.CharField(_("implements basic-policy clause"), max_length=40, blank=True)
    search_text = models.TextField(editable=False, default="")

    audit_exclude = AuditedModel.audit_exclude | {"search_text"}

    class Meta:
        ordering = ["version", "order"]
        verbose_name = _("clause")
        verbose_name_plural = _("clauses")
        constraints = [models.UniqueConstraint(fields=["version", "address"], name="policy_clause_address")]
        indexes = [models.Index(fields=["version", "order"], name="policy_clause_order")]

    def __str__(self) -> str:
        return f"{self.address} {self.heading}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        from mamoru.core.text import normalize

        self.search_text = normalize(f"{self.address} {self.heading} {self.text}")
        super().save(*args, **kwargs)


class GlossaryTerm(VersionContent):
    """A defined term (the basic policy's §2), linked from the clauses that use it."""

    term = models.CharField(_("term"), max_length=100)
    definition = models.TextField(_("definition"))
    clause = models.CharField(_("defined in"), max_length=40, blank=True)

    class Meta:
        ordering = ["version", "order"]
        verbose_name = _("glossary term")
        verbose_name_plural = _("glossary terms")

    def __str__(self) -> str:
        return self.term


class Acknowledgement(AuditedModel):
    """A person's confirmation that they read a published version (seed §3)."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("version"), on_delete=models.CASCADE,
                                related_name="acknowledgements")
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.CASCADE,
                               related_name="policy_acknowledgements")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("last reminded"), null=True, blank=True)

    self_lookup = "person__user"

    class Meta:
        ordering = ["version", "org_unit__path", "person__full_name"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [models.UniqueConstraint(fields=["version", "person"], name="policy_ack_once")]

    def __str__(self) -> str:
        return f"{self.version} — {self.person}"


class PolicyException(AuditedModel):
    """An exception (例外措置) to a clause: requested by a section, approved by the CISO, for a period.
    In an emergency the section acts first and reports within the set number of days."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("section"), on_delete=models.PROTECT,
                                 related_name="policy_exceptions")
    document = models.ForeignKey(PolicyDocument, verbose_name=_("document"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="exceptions")
    clause = models.CharField(_("clause or requirement"), max_length=40,
                              help_text=_("The address, e.g. 6(3)② or 4.1-01."))
    title = models.CharField(_("what is done differently"), max_length=200)
    reason = models.TextField(_("why"))
    compensating_measures = models.TextField(_("compensating measures"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    emergency = models.BooleanField(_("emergency (acted before approval)"), default=False)
    acted_on = models.DateField(_("acted on"), null=True, blank=True)
    report_due_on = models.DateField(_("report due"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    report = models.TextField(_("report"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ExceptionStatus.choices,
                              default=ExceptionStatus.REQUESTED)
    requested_by = models.ForeignKey(Person, verbose_name=_("requested by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(Person, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    renewal_of = models.ForeignKey("self", verbose_name=_("renewal of"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="renewals")

    role_actions: ClassVar[dict[str, frozenset[str]] | None] = {roles.APPROVE: frozenset({"ciso"})}

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("policy exception")
        verbose_name_plural = _("policy exceptions")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("policy:exception_detail", args=[self.pk])


class PolicyReview(AuditedModel):
    """A review (見直し) of a document: what prompted it and what came of it (seed §8)."""

    document = models.ForeignKey(PolicyDocument, verbose_name=_("document"), on_delete=models.CASCADE,
                                 related_name="reviews")
    reviewed_on = models.DateField(_("reviewed on"))
    triggers = models.JSONField(_("triggers"), default=list)
    trigger_note = models.TextField(_("details of the triggers"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=ReviewOutcome.choices)
    summary = models.TextField(_("summary"))
    reviewer = models.ForeignKey(Person, verbose_name=_("reviewed by"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    scope_path = "document__municipality"
    role_actions = {**DOCUMENT_ACTIONS, roles.VIEW: READERS_BY_ROLE | {"committee"}}
    staff_can_view = False

    class Meta:
        ordering = ["document", "-reviewed_on"]
        verbose_name = _("policy review")
        verbose_name_plural = _("policy reviews")

    def __str__(self) -> str:
        return f"{self.document} — {self.reviewed_on:%Y-%m-%d}"

