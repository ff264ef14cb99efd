"""Self-inspection (自己点検) and audit (監査): seed §6(9), §7, §8; domain.md §7.

Self-inspection: checklist templates are generated from the requirement catalogue (the standards' requirements,
per ``audience``) and edited by the CISO and 統括. A campaign of a fiscal year copies the templates' questions
(so later edits of a template never change a running campaign), assigns them to people of chosen sections and
collects their answers (yes / partly / no / not applicable, a comment, evidence files).

Audit: a medium-term (3-year) plan → yearly plans → engagements (scope: sections, requirements, systems;
auditors independent of what they audit) → fieldwork notes → findings → corrective actions followed up to closure.

Who sees what (mamoru.core.access):
* campaigns and their questions: everyone of the city; templates: oversight roles; changes: CISO and 統括;
* an assignment, its answers and evidence: the person who answers it, and oversight roles over their section
  (情報セキュリティ管理者, 責任者, CISO, 統括, auditors, the committee);
* audit plans, engagements and fieldwork notes: CISO, 統括, auditors (and the committee reads plans and
  engagements); findings and corrective actions also the audited section's oversight roles; an action's owner
  reads their action.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit, Person
from mamoru.inspection.choices import (
    ActionStatus,
    AnswerValue,
    AssignmentStatus,
    Audience,
    AuditFindingStatus,
    CampaignStatus,
    EngagementStatus,
    FindingSeverity,
    PlanKind,
)

NOBODY: frozenset[str] = frozenset()
INSPECTION_ADMIN = roles.ORG_ADMIN  # CISO, 統括: templates and campaigns
AUDIT_ROLES = frozenset({"ciso", "chief", "auditor"})
AUDIT_READERS = AUDIT_ROLES | {"committee"}
FISCAL_YEAR_VALIDATORS = [MinValueValidator(2000), MaxValueValidator(2100)]


def fiscal_year_label(year: int) -> str:
    """「2026年度」: the Japanese fiscal year running from April of ``year`` to March of the next."""
    return str(_("FY%(year)s") % {"year": year})


# --- self-inspection ---------------------------------------------------------------------------------------

class ChecklistTemplate(AuditedModel):
    """The questions one audience answers, generated from the requirement catalogue and then edited."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="+", editable=False)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("generated from"), max_length=200, blank=True, editable=False)

    scope_path = "municipality"
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": INSPECTION_ADMIN,
                    "change": INSPECTION_ADMIN, "delete": INSPECTION_ADMIN, "approve": NOBODY}
    staff_can_view = False

    class Meta:
        ordering = ["municipality", "audience"]
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        constraints = [models.UniqueConstraint(fields=["municipality", "audience"],
                                               name="inspection_template_audience")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("inspection:template_detail", args=[self.pk])


class QuestionFields(AuditedModel):
    """What a question says: the requirement it checks, its chapter, the question and the evidence expected."""

    order = models.PositiveIntegerField(_("order"), default=0)
    requirement = models.CharField(_("requirement"), max_length=40, blank=True,
                                   help_text=_("The requirement's address in the standards, e.g. 5.1-03."))
    chapter = models.CharField(_("chapter"), max_length=20, blank=True)
    chapter_heading = models.CharField(_("chapter heading"), max_length=200, blank=True)
    text = models.TextField(_("question"))
    evidence_hint = models.CharField(_("expected evidence"), max_length=500, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.requirement} {self.text[:60]}".strip()


class TemplateQuestion(QuestionFields):
    template = models.ForeignKey(ChecklistTemplate, verbose_name=_("checklist template"), on_delete=models.CASCADE,
                                 related_name="questions")
    active = models.BooleanField(_("asked in new campaigns"), default=True)

    scope_path = "template__municipality"
    role_actions = ChecklistTemplate.role_actions
    staff_can_view = False

    class Meta:
        ordering = ["template", "order", "pk"]
        verbose_name = _("checklist question")
        verbose_name_plural = _("checklist questions")


class Campaign(AuditedModel):
    """The self-inspection of one fiscal year (April–March)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="+", editable=False)
    fiscal_year = models.PositiveIntegerField(_("fiscal year"), validators=FISCAL_YEAR_VALIDATORS,
                                              help_text=_("The year in which the fiscal year starts (April)."))
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    due_on = models.DateField(_("answers due"))
    remind_every_days = models.PositiveSmallIntegerField(
        _("remind every (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("People who have not submitted are reminded by e-mail this often until the due date."))
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    scope_path = "municipality"
    municipality_field = "municipality"
    municipality_wide_view = True
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": INSPECTION_ADMIN,
                    "change": INSPECTION_ADMIN, "delete": INSPECTION_ADMIN, "approve": NOBODY}
    staff_can_view = False

    class Meta:
        ordering = ["municipality", "-fiscal_year", "-pk"]
        verbose_name = _("self-inspection campaign")
        verbose_name_plural = _("self-inspection campaigns")
        constraints = [models.UniqueConstraint(fields=["municipality", "fiscal_year"],
                                               name="inspection_campaign_per_year")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("inspection:campaign_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == CampaignStatus.OPEN


class CampaignQuestion(QuestionFields):
    """A question as the campaign asks it (copied from its template when the campaign started)."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE,
                                 related_name="questions")
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)

    scope_path = "campaign__municipality"
    municipality_wide_view = True
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": NOBODY, "change": NOBODY,
                    "delete": NOBODY, "approve": NOBODY}
    staff_can_view = False

    class Meta:
        ordering = ["campaign", "audience", "order", "pk"]
        verbose_name = _("campaign question")
        verbose_name_plural = _("campaign questions")
        indexes = [models.Index(fields=["campaign", "audience", "order"], name="inspection_question_order")]


ASSIGNMENT_ACTIONS = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": INSPECTION_ADMIN,
                      "change": INSPECTION_ADMIN, "delete": INSPECTION_ADMIN, "approve": NOBODY}


class Assignment(AuditedModel):
    """One person's checklist in a campaign. Only that person answers it; oversight roles read it."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE,
                                 related_name="assignments")
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="inspection_assignments")
    audience = models.CharField(_("checklist"), max_length=20, choices=Audience.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("section"), on_delete=models.PROTECT,
                                 related_name="inspection_assignments")
    # The department at assignment time (the dashboard groups by it without walking the tree).
    department = models.ForeignKey(OrgUnit, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="+")
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.NOT_STARTED)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("last reminded"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    answered = models.PositiveSmallIntegerField(_("questions answered"), default=0)
    total = models.PositiveSmallIntegerField(_("questions"), default=0)

    role_actions = ASSIGNMENT_ACTIONS
    self_lookup = "person__user"
    staff_can_view = False
    audit_exclude = AuditedModel.audit_exclude | {"reminded_at", "reminders", "answered"}

    class Meta:
        ordering = ["campaign", "org_unit__path", "person__full_name", "audience"]
        verbose_name = _("self-inspection assignment")
        verbose_name_plural = _("self-inspection assignments")
        constraints = [models.UniqueConstraint(fields=["campaign", "person", "audience"],
                                               name="inspection_assignment_once")]
        indexes = [models.Index(fields=["campaign", "department", "status"], name="inspection_assign_dept")]

    def __str__(self) -> str:
        return f"{self.campaign} — {self.person} ({self.get_audience_display()})"

    def get_absolute_url(self) -> str:
        return reverse("inspection:assignment_detail", args=[self.pk])

    @property
    def is_submitted(self) -> bool:
        return self.status == AssignmentStatus.SUBMITTED


class Answer(AuditedModel):
    assignment = models.ForeignKey(Assignment, verbose_name=_("assignment"), on_delete=models.CASCADE,
                                   related_name="answers")
    question = models.ForeignKey(CampaignQuestion, verbose_name=_("question"), on_delete=models.CASCADE,
                                 related_name="answers")
    value = models.CharField(_("answer"), max_length=8, choices=AnswerValue.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    scope_path = "assignment__org_unit"
    self_lookup = "assignment__person__user"
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": NOBODY, "change": NOBODY,
                    "delete": NOBODY, "approve": NOBODY}
    staff_can_view = False

    class Meta:
        ordering = ["assignment", "question__order"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["assignment", "question"], name="inspection_answer_once")]

    def __str__(self) -> str:
        return f"{self.question.requirement}: {self.get_value_display() or '—'}"


class Evidence(AuditedModel):
    """A file attached to an answer, kept under its SHA-256 (see services.evidence_add)."""

    answer = models.ForeignKey(Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="evidence")
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(Person, verbose_name=_("uploaded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    scope_path = "answer__assignment__org_unit"
    self_lookup = "answer__assignment__person__user"
    role_actions = Answer.role_actions
    staff_can_view = False

    class Meta:
        ordering = ["answer", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.filename

    @property
    def storage_name(self) -> str:
        return f"inspection/evidence/{self.sha256[:2]}/{self.sha256}"


# --- audit -------------------------------------------------------------------------------------------------

class AuditPlan(AuditedModel):
    """A medium-term audit plan (three fiscal years) or a yearly plan within one."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.CASCADE,
                                     related_name="+", editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=PlanKind.choices)
    parent = models.ForeignKey("self", verbose_name=_("medium-term plan"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="yearly_plans")
    first_year = models.PositiveIntegerField(_("first fiscal year"), validators=FISCAL_YEAR_VALIDATORS)
    last_year = models.PositiveIntegerField(_("last fiscal year"), validators=FISCAL_YEAR_VALIDATORS)
    title = models.CharField(_("title"), max_length=200)
    objectives = models.TextField(_("objectives and focus areas"), blank=True)
    approved_by = models.ForeignKey(Person, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_on = models.DateField(_("approved on"), null=True, blank=True)

    scope_path = "municipality"
    municipality_field = "municipality"
    role_actions = {"view": AUDIT_READERS, "export": AUDIT_READERS, "add": AUDIT_ROLES, "change": AUDIT_ROLES,
                    "delete": roles.ORG_ADMIN, "approve": frozenset({"ciso"})}
    staff_can_view = False

    class Meta:
        ordering = ["municipality", "-first_year", "kind"]
        verbose_name = _("audit plan")
        verbose_name_plural = _("audit plans")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("inspection:plan_detail", args=[self.pk])


class Engagement(AuditedModel):
    """One audit (監査): its scope, auditors and dates; fieldwork notes and findings hang off it."""

    plan = models.ForeignKey(AuditPlan, verbose_name=_("yearly plan"), on_delete=models.PROTECT,
                             related_name="engagements")
    title = models.CharField(_("title"), max_length=200)
    sections = models.ManyToManyField(OrgUnit, verbose_name=_("audited sections"), related_name="audits")
    requirements = models.JSONField(_("requirements in scope"), default=list, blank=True)
    systems = models.ManyToManyField("network.InformationSystem", verbose_name=_("information systems in scope"),
                                     blank=True, related_name="audits")
    auditors = models.ManyToManyField(Person, verbose_name=_("auditors"), related_name="audit_engagements")
    starts_on = models.DateField(_("fieldwork from"))
    ends_on = models.DateField(_("fieldwork until"))
    status = models.CharField(_("status"), max_length=12, choices=EngagementStatus.choices,
                              default=EngagementStatus.PLANNED)
    conclusion = models.TextField(_("overall conclusion"), blank=True)
    reported_on = models.DateField(_("reported to the committee on"), null=True, blank=True)

    scope_path = "plan__municipality"
    municipality_field = "plan__municipality"
    role_actions = AuditPlan.role_actions
    staff_can_view = False

    class Meta:
        ordering = ["plan", "starts_on", "pk"]
        verbose_name = _("audit engagement")
        verbose_name_plural = _("audit engagements")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("inspection:engagement_detail", args=[self.pk])


class FieldworkNote(AuditedModel):
    """An auditor's working note: what was looked at, asked and seen."""

    engagement = models.ForeignKey(Engagement, verbose_name=_("audit engagement"), on_delete=models.CASCADE,
                                   related_name="notes")
    author = models.ForeignKey(Person, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+")
    noted_on = models.DateField(_("date"))
    text = models.TextField(_("note"))

    scope_path = "engagement__plan__municipality"
    role_actions = {"view": AUDIT_ROLES, "export": AUDIT_ROLES, "add": AUDIT_ROLES, "change": NOBODY,
                    "delete": NOBODY, "approve": NOBODY}
    staff_can_view = False

    class Meta:
        ordering = ["engagement", "noted_on", "pk"]
        verbose_name = _("fieldwork note")
        verbose_name_plural = _("fieldwork notes")

    def __str__(self) -> str:
        return f"{self.noted_on} {self.text[:40]}"


class AuditFinding(AuditedModel):
    """What an audit found in one audited section, with the auditor's recommendation."""

    engagement = models.ForeignKey(Engagement, verbose_name=_("audit engagement"), on_delete=models.PROTECT,
                                   related_name="findings")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("audited section"), on_delete=models.PROTECT,
                                 related_name="audit_findings")
    number = models.PositiveIntegerField(_("number"), editable=False)
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(_("severity"), max_length=12, choices=FindingSeverity.choices)
    requirement = models.CharField(_("requirement"), max_length=40, blank=True)
    evidence = models.TextField(_("evidence (what was seen)"))
    recommendation = models.TextField(_("recommendation"))
    status = models.CharField(_("status"), max_length=8, choices=AuditFindingStatus.choices,
                              default=AuditFindingStatus.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    author = models.ForeignKey(Person, verbose_name=_("recorded by"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")

    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT, "add": AUDIT_ROLES, "change": AUDIT_ROLES,
                    "delete": NOBODY, "approve": AUDIT_ROLES}
    staff_can_view = False

    class Meta:
        ordering = ["engagement", "number"]
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        constraints = [models.UniqueConstraint(fields=["engagement", "number"], name="inspection_finding_number")]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("inspection:finding_detail", args=[self.pk])

    @classmethod
    def readable_by(cls, user: Any) -> Q:
        """The owner of a corrective action reads the finding it answers."""
        return Q(pk__in=CorrectiveAction.objects.filter(owner__user=user).values("finding_id"))


class CorrectiveAction(AuditedModel):
    """The audited section's answer to a finding: what will be done, by whom, by when; an auditor follows it up."""

    finding = models.ForeignKey(AuditFinding, verbose_name=_("audit finding"), on_delete=models.CASCADE,
                                related_name="actions")
    description = models.TextField(_("corrective action"))
    owner = models.ForeignKey(Person, verbose_name=_("person responsible"), on_delete=models.PROTECT,
                              related_name="corrective_actions")
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices,
                              default=ActionStatus.PLANNED)
    progress_note = models.TextField(_("progress"), blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    verified_by = models.ForeignKey(Person, verbose_name=_("followed up by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    verification_note = models.TextField(_("follow-up result"), blank=True)

    scope_path = "finding__org_unit"
    self_lookup = "owner__user"
    role_actions = {"view": roles.OVERSIGHT, "export": roles.OVERSIGHT,
                    "add": frozenset({"ciso", "chief", "dept_head", "section_manager"}),
                    "change": frozenset({"ciso", "chief", "dept_head", "section_manager"}),
                    "delete": NOBODY, "approve": AUDIT_ROLES}
    staff_can_view = False

    class Meta:
        ordering = ["finding", "due_on", "pk"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")

    def __str__(self) -> str:
        return self.description[:80]

    def get_absolute_url(self) -> str:
        return reverse("inspection:finding_detail", args=[self.finding_id])

    @property
    def is_open(self) -> bool:
        return self.status != ActionStatus.CLOSED


def answer_rate(counts: dict[str, Any]) -> float | None:
    """Compliance rate in percent: (yes + ½ partly) / (yes + partly + no); None when nothing applicable was
    answered. "Not applicable" counts neither way."""
    yes, partly, no = (int(counts.get(k) or 0) for k in (AnswerValue.YES, AnswerValue.PARTLY, AnswerValue.NO))
    applicable = yes + partly + no
    return round(100.0 * (yes + 0.5 * partly) / applicable, 1) if applicable else None
