"""Write side of self-inspection and audit: templates, campaigns, answers and evidence, plans, engagements,
findings and corrective actions. Every function is keyword-only, validates, and writes inside one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core import audit
from mamoru.core.choices import AuditEvent, UnitKind
from mamoru.core.models import OrgUnit, Person, RoleAssignment
from mamoru.inspection.choices import (
    ActionStatus,
    AnswerValue,
    AssignmentStatus,
    Audience,
    AuditFindingStatus,
    CampaignStatus,
    EngagementStatus,
    PlanKind,
)
from mamoru.inspection.models import (
    Answer,
    Assignment,
    AuditFinding,
    AuditPlan,
    Campaign,
    CampaignQuestion,
    ChecklistTemplate,
    CorrectiveAction,
    Engagement,
    Evidence,
    FieldworkNote,
    TemplateQuestion,
)

# Who answers each checklist: everyone of the chosen sections, or the holders of a role on them.
AUDIENCE_ROLES = {Audience.SECURITY_MANAGER: "section_manager", Audience.SYSTEM_ADMIN: "system_admin"}
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
NEEDS_COMMENT = (AnswerValue.PARTLY, AnswerValue.NO)


def person_of(user: Any) -> Person | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user, is_active=True).select_related("org_unit").first()


def fiscal_year_of(day: dt.date) -> int:
    """The Japanese fiscal year (年度) of ``day``: April to March, named by the year it starts in."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


# --- checklist templates -----------------------------------------------------------------------------------

def standards_version(municipality: OrgUnit) -> Any:
    """The city's published standards (対策基準) version, the source of the requirement catalogue."""
    from mamoru.policy.choices import DocumentKind, VersionStatus
    from mamoru.policy.models import PolicyVersion

    return (PolicyVersion.objects.filter(document__municipality=municipality, document__kind=DocumentKind.STANDARDS,
                                         status=VersionStatus.PUBLISHED)
            .select_related("document").order_by("-published_at", "-number").first())


@dataclass(frozen=True)
class GenerateResult:
    templates: int
    added: int


@transaction.atomic
def templates_generate(*, municipality: OrgUnit, actor: Any = None) -> GenerateResult:
    """One checklist per audience from the published standards. Run again after the standards change, it adds
    the requirements a template does not ask yet and leaves edited questions alone."""
    from mamoru.policy.choices import ClauseKind

    version = standards_version(municipality)
    if version is None:
        raise ValidationError(_("The city has no published standards (対策基準) to generate checklists from."))
    clauses = list(version.clause_set.order_by("order").values("pk", "parent_id", "kind", "address", "heading",
                                                               "text", "audience", "evidence", "level"))
    by_pk = {c["pk"]: c for c in clauses}
    created = added = 0
    for audience in Audience.values:
        template = ChecklistTemplate.objects.filter(municipality=municipality, audience=audience).first()
        if template is None:
            template = ChecklistTemplate(municipality=municipality, audience=audience,
                                         title=_("Self-inspection checklist: %(audience)s")
                                         % {"audience": Audience(audience).label})
            created += 1
        template.source = str(version)[:200]
        template.full_clean()
        template.save()
        asked = set(template.questions.values_list("requirement", flat=True))
        order = template.questions.count()
        for clause in clauses:
            if clause["kind"] != ClauseKind.REQUIREMENT or audience not in (clause["audience"] or []):
                continue
            if clause["address"] in asked:
                continue
            section = by_pk.get(clause["parent_id"]) or {}
            chapter = by_pk.get(section.get("parent_id")) or section
            order += 1
            TemplateQuestion.objects.create(
                template=template, order=order * 10, requirement=clause["address"],
                chapter=chapter.get("address", ""), chapter_heading=chapter.get("heading", "")[:200],
                text=clause["text"], evidence_hint=(clause["evidence"] or "")[:500])
            added += 1
    return GenerateResult(templates=created, added=added)


@transaction.atomic
def template_question_save(*, question: TemplateQuestion, **fields: Any) -> TemplateQuestion:
    for name, value in fields.items():
        setattr(question, name, value)
    if not question.order:
        last = question.template.questions.exclude(pk=question.pk).order_by("-order").first()
        question.order = (last.order if last else 0) + 10
    question.full_clean()
    question.save()
    return question


# --- campaigns ---------------------------------------------------------------------------------------------

def _department_of(unit: OrgUnit, units: Mapping[int, OrgUnit]) -> OrgUnit:
    """The 部局 above ``unit`` (a unit directly under the municipality), or the unit itself."""
    ids = [int(x) for x in unit.path.strip("/").split("/")]
    return units.get(ids[1], unit) if len(ids) > 1 else unit


@transaction.atomic
def campaign_start(*, municipality: OrgUnit, actor: Any = None, fiscal_year: int, title: str,
                   starts_on: dt.date, due_on: dt.date, audiences: Iterable[str],
                   sections: Iterable[OrgUnit] | None = None, remind_every_days: int = 7) -> Campaign:
    """Open the campaign of ``fiscal_year``: copy the templates' active questions and assign them.

    ``sections`` (default: every in-scope section of the city) decide who answers: for "all staff" every active
    staff member of those sections (and of their teams), for the others the holders of the 情報セキュリティ管理者
    or 情報システム管理者 role on them."""
    audiences = list(dict.fromkeys(audiences))
    errors: dict[str, list[str]] = {}
    if not audiences:
        errors.setdefault("audiences", []).append(_("Choose at least one checklist."))
    if due_on < starts_on:
        errors.setdefault("due_on", []).append(_("The due date is before the start date."))
    first, last = fiscal_year_bounds(fiscal_year)
    if not first <= starts_on <= last:
        errors.setdefault("starts_on", []).append(
            _("The start date is outside %(fy)s (%(first)s – %(last)s).")
            % {"fy": _("FY%(year)s") % {"year": fiscal_year}, "first": first, "last": last})
    if Campaign.objects.filter(municipality=municipality, fiscal_year=fiscal_year).exists():
        errors.setdefault("fiscal_year", []).append(
            _("%(fy)s already has a self-inspection campaign.") % {"fy": _("FY%(year)s") % {"year": fiscal_year}})
    templates = {t.audience: t for t in ChecklistTemplate.objects.filter(municipality=municipality,
                                                                        audience__in=audiences)}
    for audience in audiences:
        template = templates.get(audience)
        if template is None or not template.questions.filter(active=True).exists():
            errors.setdefault("audiences", []).append(
                _("The checklist “%(audience)s” has no questions yet; generate it from the standards first.")
                % {"audience": Audience(audience).label})
    if errors:
        raise ValidationError(errors)

    campaign = Campaign(municipality=municipality, fiscal_year=fiscal_year, title=title, starts_on=starts_on,
                        due_on=due_on, remind_every_days=remind_every_days)
    campaign.full_clean()
    campaign.save()
    totals: dict[str, int] = {}
    for audience in audiences:
        questions = [CampaignQuestion(campaign=campaign, audience=audience, order=q.order,
                                      requirement=q.requirement, chapter=q.chapter,
                                      chapter_heading=q.chapter_heading, text=q.text, evidence_hint=q.evidence_hint)
                     for q in templates[audience].questions.filter(active=True).order_by("order", "pk")]
        CampaignQuestion.objects.bulk_create(questions)
        totals[audience] = len(questions)

    units = {u.pk: u for u in OrgUnit.objects.filter(path__startswith=municipality.path)}
    if sections is None:
        chosen = [u for u in units.values() if u.kind == UnitKind.SECTION and u.in_scope]
    else:
        chosen = [units[s.pk] for s in sections if s.pk in units]
    rows: dict[tuple[int, str], Assignment] = {}

    def assign(person_id: int, audience: str, unit: OrgUnit) -> None:
        rows.setdefault((person_id, audience), Assignment(
            campaign=campaign, person_id=person_id, audience=audience, org_unit=unit,
            department=_department_of(unit, units), due_on=due_on, total=totals[audience]))

    section_q = Q(pk__in=[])
    for unit in chosen:
        section_q |= Q(path__startswith=unit.path)
    covered = {u.pk: u for u in OrgUnit.objects.filter(section_q)}
    for audience in audiences:
        role = AUDIENCE_ROLES.get(audience)
        if role is None:
            people = (Person.objects.filter(org_unit__in=list(covered), is_active=True, kind="staff")
                      .values_list("pk", "org_unit_id"))
            for person_id, unit_id in people:
                assign(person_id, audience, units[unit_id])
        else:
            holders = (RoleAssignment.objects.active().filter(role__code=role, org_unit__in=list(covered),
                                                              person__is_active=True)
                       .values_list("person_id", "org_unit_id").order_by("org_unit__path", "person_id"))
            for person_id, unit_id in holders:
                assign(person_id, audience, units[unit_id])
    Assignment.objects.bulk_create(rows.values(), batch_size=500)
    audit.event(AuditEvent.INSPECTION_ASSIGNED, obj=campaign, actor=actor, details={
        "assignments": len(rows), "questions": totals, "sections": len(chosen)})
    return campaign


@transaction.atomic
def campaign_close(*, campaign: Campaign, actor: Any = None) -> Campaign:
    """Close the campaign: answers are final (unsubmitted ones stay as they are and count as not submitted)."""
    if not campaign.is_open:
        raise ValidationError(_("The campaign is already closed."))
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = timezone.now()
    campaign.save()
    return campaign


def previous_campaign(campaign: Campaign) -> Campaign | None:
    return (Campaign.objects.filter(municipality_id=campaign.municipality_id, fiscal_year__lt=campaign.fiscal_year)
            .order_by("-fiscal_year").first())


# --- answering ---------------------------------------------------------------------------------------------

def _require_owner(assignment: Assignment, user: Any) -> None:
    if assignment.person.user_id is None or assignment.person.user_id != getattr(user, "pk", None):
        raise ValidationError(_("Only %(name)s answers this checklist.") % {"name": assignment.person.full_name})
    if not assignment.campaign.is_open:
        raise ValidationError(_("The campaign is closed; its answers can no longer be changed."))


@dataclass(frozen=True)
class AnswerInput:
    value: str
    comment: str


@dataclass
class SaveResult:
    assignment: Assignment
    problems: list[str]  # why a submission was refused; the answers were then saved as a draft


@transaction.atomic
def answers_save(*, assignment: Assignment, user: Any, answers: Mapping[int, AnswerInput],
                 submit: bool = False) -> SaveResult:
    """Save the owner's answers (a draft, or submitted). ``answers`` maps question ids to what was entered.

    Submitting needs an answer to every question and a comment on every "partly" and "no" (what is missing).
    A refused submission keeps what was entered as a draft and returns the reasons, each naming the questions.
    Changes are recorded in the audit trail as one entry per save (requirement: old → new answer)."""
    assignment = Assignment.objects.select_for_update().select_related("person", "campaign").get(pk=assignment.pk)
    _require_owner(assignment, user)
    if assignment.is_submitted:
        raise ValidationError(_("This checklist was submitted. Re-open it to change answers."))
    questions = {q.pk: q for q in CampaignQuestion.objects.filter(campaign_id=assignment.campaign_id,
                                                                  audience=assignment.audience)}
    if any(qid not in questions for qid in answers):
        raise ValidationError(_("The form does not match this checklist (unknown questions). Reload the page."))
    bad = [questions[qid].requirement or str(qid) for qid, a in answers.items()
           if a.value and a.value not in AnswerValue.values]
    if bad:
        raise ValidationError(_("Unknown answer for %(questions)s.") % {"questions": ", ".join(bad)})
    existing = {a.question_id: a for a in Answer.objects.filter(assignment=assignment)}
    changes: dict[str, list[str]] = {}
    to_create, to_update = [], []
    for qid, entered in answers.items():
        value, comment = entered.value, entered.comment.strip()
        label = questions[qid].requirement or str(qid)
        answer = existing.get(qid)
        if answer is None:
            if not value and not comment:
                continue
            answer = Answer(assignment=assignment, question_id=qid, value=value, comment=comment)
            to_create.append(answer)
            existing[qid] = answer
            changes[label] = ["", value]
        elif (answer.value, answer.comment) != (value, comment):
            changes[label] = [answer.value, value]
            answer.value, answer.comment, answer.updated_at = value, comment, timezone.now()
            to_update.append(answer)
    Answer.objects.bulk_create(to_create)
    Answer.objects.bulk_update(to_update, ["value", "comment", "updated_at"])
    answered = sum(1 for a in existing.values() if a.value)
    problems: list[str] = []
    if submit:
        ordered = sorted(questions.values(), key=lambda q: (q.order, q.pk))
        missing = [q.requirement or str(q.pk) for q in ordered if not (q.pk in existing and existing[q.pk].value)]
        uncommented = [q.requirement or str(q.pk) for q in ordered
                       if q.pk in existing and existing[q.pk].value in NEEDS_COMMENT and not existing[q.pk].comment]
        if missing:
            problems.append(_("Answer every question before submitting; not answered: %(list)s.")
                            % {"list": ", ".join(missing)})
        if uncommented:
            problems.append(_("Say in the comment what is missing for each “partly” or “no”: %(list)s.")
                            % {"list": ", ".join(uncommented)})
    submitted = submit and not problems
    _set_progress(assignment, answered, AssignmentStatus.SUBMITTED if submitted else AssignmentStatus.DRAFT)
    if changes or submitted:
        audit.event(AuditEvent.INSPECTION_ANSWERS, obj=assignment, actor=user,
                    details={"changed": changes, "submitted": submitted})
    return SaveResult(assignment=assignment, problems=problems)


def _set_progress(assignment: Assignment, answered: int, status: str) -> None:
    assignment.answered = answered
    if status == AssignmentStatus.SUBMITTED:
        assignment.status, assignment.submitted_at = status, timezone.now()
    elif answered or assignment.status != AssignmentStatus.NOT_STARTED:
        assignment.status = AssignmentStatus.DRAFT
    assignment.save()


@transaction.atomic
def assignment_reopen(*, assignment: Assignment, user: Any) -> Assignment:
    """The owner re-opens a submitted checklist to correct it (while the campaign is open)."""
    _require_owner(assignment, user)
    if not assignment.is_submitted:
        raise ValidationError(_("This checklist is not submitted."))
    assignment.status, assignment.submitted_at = AssignmentStatus.DRAFT, None
    assignment.save()
    return assignment


# --- evidence ----------------------------------------------------------------------------------------------

EVIDENCE_TYPES = {  # extension → (content type, what it must look like)
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain", "csv": "text/csv",
}


def _looks_like(ext: str, data: bytes) -> bool:
    if ext == "pdf":
        return data.startswith(b"%PDF-")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in {"jpg", "jpeg"}:
        return data.startswith(b"\xff\xd8\xff")
    if ext in {"docx", "xlsx", "pptx"}:
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        prefix = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}[ext]
        macro = any(n.lower().endswith("vbaproject.bin") for n in names)
        return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names) and not macro
    if ext in {"txt", "csv"}:
        if b"\x00" in data:
            return False
        for encoding in ("utf-8-sig", "cp932"):
            try:
                data.decode(encoding)
            except UnicodeDecodeError:
                continue
            return True
        return False
    return False


def evidence_check(filename: str, data: bytes) -> str:
    """The content type of an acceptable evidence file, else a ValidationError naming the file and the reason."""
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ValidationError(_("%(file)s is %(size).1f MB; evidence files up to %(limit)d MB are accepted.") % {
            "file": filename, "size": len(data) / (1024 * 1024), "limit": MAX_EVIDENCE_BYTES // (1024 * 1024)})
    if not data:
        raise ValidationError(_("%(file)s is empty.") % {"file": filename})
    if ext not in EVIDENCE_TYPES:
        raise ValidationError(_("%(file)s: this type of file is not accepted as evidence. Accepted: %(types)s.")
                              % {"file": filename, "types": ", ".join(sorted(EVIDENCE_TYPES))})
    if not _looks_like(ext, data):
        raise ValidationError(_("%(file)s does not contain what its name says (.%(ext)s), or contains macros. "
                                "Save it again in that format and upload it.") % {"file": filename, "ext": ext})
    return EVIDENCE_TYPES[ext]


@transaction.atomic
def evidence_add(*, assignment: Assignment, user: Any, question_id: int, filename: str, data: bytes) -> Evidence:
    """Attach a file to the owner's answer to one question; the file is stored under its SHA-256."""
    assignment = Assignment.objects.select_related("person", "campaign").get(pk=assignment.pk)
    _require_owner(assignment, user)
    if assignment.is_submitted:
        raise ValidationError(_("This checklist was submitted. Re-open it to change answers."))
    question = CampaignQuestion.objects.filter(pk=question_id, campaign_id=assignment.campaign_id,
                                               audience=assignment.audience).first()
    if question is None:
        raise ValidationError(_("The form does not match this checklist (unknown questions). Reload the page."))
    filename = (filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "evidence")[:200]
    content_type = evidence_check(filename, data)
    sha = hashlib.sha256(data).hexdigest()
    answer, _created = Answer.objects.get_or_create(assignment=assignment, question=question)
    evidence = Evidence(answer=answer, filename=filename, content_type=content_type, size=len(data), sha256=sha,
                        uploaded_by=assignment.person)
    evidence.full_clean()
    if not default_storage.exists(evidence.storage_name):
        default_storage.save(evidence.storage_name, ContentFile(data))
    evidence.save()
    return evidence


def evidence_read(evidence: Evidence) -> bytes:
    """The stored bytes, checked against the recorded SHA-256 (a changed file is refused, not served)."""
    try:
        with default_storage.open(evidence.storage_name, "rb") as f:
            data: bytes = f.read()
    except FileNotFoundError:
        raise ValidationError(_("The file of this evidence is missing from the storage.")) from None
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise ValidationError(_("The stored file no longer matches its SHA-256; it is not served."))
    audit.event(AuditEvent.DOWNLOAD, obj=evidence, details={"sha256": evidence.sha256})
    return data


@transaction.atomic
def evidence_remove(*, evidence: Evidence, user: Any) -> None:
    assignment = evidence.answer.assignment
    _require_owner(assignment, user)
    if assignment.is_submitted:
        raise ValidationError(_("This checklist was submitted. Re-open it to change answers."))
    evidence.delete()  # the stored file stays: other evidence may share it, and the trail names its hash


# --- reminders ---------------------------------------------------------------------------------------------

def reminders_send(*, now: dt.datetime | None = None) -> int:
    """E-mail everyone with an unsubmitted checklist of an open campaign, at most once per the campaign's
    interval. Each row is claimed with a conditional UPDATE, so several hosts may run this at once."""
    from django.core.mail import send_mail
    from django.db.models import F

    now = now or timezone.now()
    today = timezone.localdate(now)
    pending = (Assignment.objects.filter(campaign__status=CampaignStatus.OPEN, campaign__starts_on__lte=today)
               .exclude(status=AssignmentStatus.SUBMITTED).exclude(person__email="")
               .select_related("person", "campaign"))
    sent = 0
    for a in pending.iterator(chunk_size=500):
        interval = dt.timedelta(days=a.campaign.remind_every_days)
        due = Q(reminded_at__isnull=True) | Q(reminded_at__lte=now - interval)
        if not Assignment.objects.filter(due, pk=a.pk).exclude(status=AssignmentStatus.SUBMITTED).update(
                reminded_at=now, reminders=F("reminders") + 1):
            continue  # another runner sent it, or it was submitted meanwhile
        late = a.due_on < today
        subject = (_("Overdue: self-inspection %(campaign)s") if late
                   else _("Reminder: self-inspection %(campaign)s")) % {"campaign": a.campaign.title}
        body = _("%(name)s,\n\nyour self-inspection checklist “%(checklist)s” of %(campaign)s is %(state)s: "
                 "%(answered)d of %(total)d questions answered. It is due on %(due)s.\n\n"
                 "Open “Self-inspection” in Mamoru to answer and submit it.\n") % {
            "name": a.person.full_name, "checklist": a.get_audience_display(), "campaign": a.campaign.title,
            "state": a.get_status_display(), "answered": a.answered, "total": a.total, "due": a.due_on.isoformat()}
        send_mail(subject, body, None, [a.person.email])
        sent += 1
    if sent:
        audit.event(AuditEvent.INSPECTION_REMINDED, object_type="inspection.assignment",
                    object_repr=_("Self-inspection reminders"), details={"sent": sent})
    return sent


# --- audit plans and engagements ---------------------------------------------------------------------------

@transaction.atomic
def plan_create(*, municipality: OrgUnit, actor: Any = None, kind: str, first_year: int, title: str,
                objectives: str = "", parent: AuditPlan | None = None) -> AuditPlan:
    """A medium-term plan covers three fiscal years; a yearly plan one year of its medium-term plan."""
    if kind == PlanKind.MEDIUM_TERM:
        parent, last_year = None, first_year + 2
    else:
        last_year = first_year
        if parent is None or parent.kind != PlanKind.MEDIUM_TERM or parent.municipality_id != municipality.pk:
            raise ValidationError({"parent": _("A yearly plan belongs to a medium-term plan of the city.")})
        if not parent.first_year <= first_year <= parent.last_year:
            raise ValidationError({"first_year": _("%(fy)s is outside the medium-term plan (%(a)s–%(b)s).") % {
                "fy": _("FY%(year)s") % {"year": first_year}, "a": parent.first_year, "b": parent.last_year}})
        if parent.yearly_plans.filter(first_year=first_year).exists():
            raise ValidationError({"first_year": _("The medium-term plan already has a plan for %(fy)s.")
                                   % {"fy": _("FY%(year)s") % {"year": first_year}}})
    plan = AuditPlan(municipality=municipality, kind=kind, parent=parent, first_year=first_year,
                     last_year=last_year, title=title, objectives=objectives)
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_approve(*, plan: AuditPlan, actor: Any) -> AuditPlan:
    if plan.approved_on:
        raise ValidationError(_("The plan is already approved."))
    plan.approved_by, plan.approved_on = person_of(actor), timezone.localdate()
    plan.save()
    return plan


def independence_problems(auditors: Iterable[Person], sections: Iterable[OrgUnit],
                          systems: Iterable[Any] = ()) -> list[str]:
    """Why an auditor may not audit this scope: they belong to an audited section (or it belongs to their
    unit), or to the section owning an audited system."""
    problems = []
    sections = list(sections)
    systems = list(systems)
    for person in auditors:
        home = person.org_unit
        for unit in sections:
            if home.path.startswith(unit.path) or unit.path.startswith(home.path):
                problems.append(_("%(name)s belongs to %(home)s and cannot audit %(unit)s: auditors must be "
                                  "independent of what they audit. Choose another auditor or change the scope.")
                                % {"name": person.full_name, "home": home.name, "unit": unit.name})
        for system in systems:
            owner = system.org_unit
            if home.path.startswith(owner.path) or owner.path.startswith(home.path):
                problems.append(_("%(name)s belongs to %(home)s, which owns %(system)s, and cannot audit it: "
                                  "auditors must be independent of what they audit.")
                                % {"name": person.full_name, "home": home.name, "system": system.name})
    return problems


def _requirements_check(municipality: OrgUnit, requirements: list[str]) -> list[str]:
    if not requirements:
        return []
    version = standards_version(municipality)
    known = set(version.clause_set.values_list("address", flat=True)) if version else set()
    unknown = [r for r in requirements if r not in known]
    return [_("Unknown requirements (not in the published standards): %(list)s.") % {"list": ", ".join(unknown)}
            ] if unknown else []


def _auditor_problems(municipality: OrgUnit, auditors: list[Person]) -> list[str]:
    holders = set(RoleAssignment.objects.active().filter(
        role__code="auditor", person__in=auditors, org_unit__path__startswith=municipality.path)
        .values_list("person_id", flat=True))
    return [_("%(name)s does not hold the auditor role in this city.") % {"name": p.full_name}
            for p in auditors if p.pk not in holders]


@transaction.atomic
def engagement_save(*, plan: AuditPlan, actor: Any = None, engagement: Engagement | None = None, title: str,
                    sections: list[OrgUnit], auditors: list[Person], starts_on: dt.date, ends_on: dt.date,
                    requirements: list[str] | None = None, systems: list[Any] | None = None) -> Engagement:
    """Create or change an engagement of a yearly plan. Auditors must hold the auditor role and be independent of
    the audited sections and systems; the fieldwork lies within the plan's fiscal year."""
    municipality = plan.municipality
    requirements = [r.strip() for r in (requirements or []) if r.strip()]
    systems = list(systems or [])
    errors: list[str] = []
    if plan.kind != PlanKind.YEARLY:
        errors.append(_("Engagements belong to a yearly plan."))
    if not sections:
        errors.append(_("Choose at least one audited section."))
    if not auditors:
        errors.append(_("Choose at least one auditor."))
    first, last = fiscal_year_bounds(plan.first_year)
    if ends_on < starts_on:
        errors.append(_("The fieldwork ends before it starts."))
    if not (first <= starts_on <= last and first <= ends_on <= last):
        errors.append(_("The fieldwork must lie within %(fy)s (%(first)s – %(last)s).")
                      % {"fy": _("FY%(year)s") % {"year": plan.first_year}, "first": first, "last": last})
    outside = [s.name for s in sections if not s.path.startswith(municipality.path)]
    if outside:
        errors.append(_("Not sections of this city: %(list)s.") % {"list": ", ".join(outside)})
    errors += _auditor_problems(municipality, auditors)
    errors += independence_problems(auditors, sections, systems)
    errors += _requirements_check(municipality, requirements)
    if errors:
        raise ValidationError(errors)
    engagement = engagement or Engagement(plan=plan)
    engagement.title, engagement.starts_on, engagement.ends_on = title, starts_on, ends_on
    engagement.requirements = requirements
    engagement.full_clean()
    engagement.save()
    engagement.sections.set(sections)
    engagement.auditors.set(auditors)
    engagement.systems.set(systems)
    return engagement


def _require_engagement_auditor(engagement: Engagement, user: Any) -> Person:
    person = person_of(user)
    if person is None or not engagement.auditors.filter(pk=person.pk).exists():
        raise ValidationError(_("Only the auditors of this engagement may do this."))
    return person


ENGAGEMENT_NEXT = {EngagementStatus.PLANNED: EngagementStatus.FIELDWORK,
                   EngagementStatus.FIELDWORK: EngagementStatus.REPORTED,
                   EngagementStatus.REPORTED: EngagementStatus.CLOSED}


@transaction.atomic
def engagement_advance(*, engagement: Engagement, actor: Any, conclusion: str = "",
                       reported_on: dt.date | None = None) -> Engagement:
    """Planned → fieldwork → reported (with the conclusion and the committee date) → closed (every finding
    closed after follow-up)."""
    _require_engagement_auditor(engagement, actor)
    target = ENGAGEMENT_NEXT.get(EngagementStatus(engagement.status))
    if target is None:
        raise ValidationError(_("The engagement is closed."))
    if target == EngagementStatus.REPORTED:
        if not conclusion.strip() or reported_on is None:
            raise ValidationError(_("Give the overall conclusion and the date it was reported to the committee."))
        engagement.conclusion, engagement.reported_on = conclusion.strip(), reported_on
    if target == EngagementStatus.CLOSED:
        still_open = engagement.findings.filter(status=AuditFindingStatus.OPEN).count()
        if still_open:
            raise ValidationError(_("%(n)d findings are still open; close them through follow-up first.")
                                  % {"n": still_open})
    engagement.status = target
    engagement.save()
    return engagement


@transaction.atomic
def note_add(*, engagement: Engagement, actor: Any, noted_on: dt.date, text: str) -> FieldworkNote:
    author = _require_engagement_auditor(engagement, actor)
    if engagement.status not in (EngagementStatus.FIELDWORK, EngagementStatus.PLANNED):
        raise ValidationError(_("Fieldwork notes are taken before the engagement is reported."))
    note = FieldworkNote(engagement=engagement, author=author, noted_on=noted_on, text=text.strip())
    note.full_clean()
    note.save()
    return note


@transaction.atomic
def finding_add(*, engagement: Engagement, actor: Any, org_unit: OrgUnit, title: str, severity: str,
                evidence: str, recommendation: str, requirement: str = "") -> AuditFinding:
    author = _require_engagement_auditor(engagement, actor)
    if engagement.status != EngagementStatus.FIELDWORK:
        raise ValidationError(_("Findings are recorded during fieldwork."))
    if not engagement.sections.filter(pk=org_unit.pk).exists():
        raise ValidationError({"org_unit": _("%(unit)s is not audited by this engagement.")
                               % {"unit": org_unit.name}})
    problems = _requirements_check(engagement.plan.municipality, [requirement] if requirement else [])
    if problems:
        raise ValidationError({"requirement": problems})
    last = engagement.findings.order_by("-number").values_list("number", flat=True).first() or 0
    finding = AuditFinding(engagement=engagement, org_unit=org_unit, number=last + 1, title=title,
                           severity=severity, requirement=requirement, evidence=evidence,
                           recommendation=recommendation, author=author)
    finding.full_clean()
    try:
        with transaction.atomic():
            finding.save()
    except IntegrityError:
        raise ValidationError(_("Another finding was recorded at the same moment; please try again.")) from None
    return finding


@transaction.atomic
def action_add(*, finding: AuditFinding, actor: Any, description: str, owner: Person,
               due_on: dt.date) -> CorrectiveAction:
    """The audited side plans a corrective action: an owner of the audited section (or its department)."""
    if finding.status != AuditFindingStatus.OPEN:
        raise ValidationError(_("The finding is closed."))
    unit = finding.org_unit
    if not (owner.is_active and (owner.org_unit.path.startswith(unit.path) or unit.path.startswith(owner.org_unit.path))
            and owner.org_unit.depth > 0):
        raise ValidationError({"owner": _("The owner must work in %(unit)s or its department.")
                               % {"unit": unit.name}})
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": _("The due date is in the past.")})
    action = CorrectiveAction(finding=finding, description=description.strip(), owner=owner, due_on=due_on)
    action.full_clean()
    action.save()
    return action


@transaction.atomic
def action_progress(*, action: CorrectiveAction, actor: Any, status: str, note: str,
                    completed_on: dt.date | None = None) -> CorrectiveAction:
    """The owner (or the section's manager) reports progress, or that the action is done (with the date)."""
    if action.status == ActionStatus.CLOSED:
        raise ValidationError(_("The action is closed."))
    if status not in (ActionStatus.IN_PROGRESS, ActionStatus.DONE):
        raise ValidationError(_("Choose “in progress” or “done”."))
    if not note.strip():
        raise ValidationError({"progress_note": _("Describe what was done.")})
    if status == ActionStatus.DONE:
        if completed_on is None:
            raise ValidationError({"completed_on": _("Give the date the action was completed.")})
        if completed_on > timezone.localdate():
            raise ValidationError({"completed_on": _("The completion date is in the future.")})
    action.status, action.progress_note = status, note.strip()
    action.completed_on = completed_on if status == ActionStatus.DONE else None
    action.save()
    return action


@transaction.atomic
def action_follow_up(*, action: CorrectiveAction, actor: Any, accept: bool, note: str) -> CorrectiveAction:
    """An auditor of the engagement follows the action up: accepted → closed (the finding closes with its last
    action); not accepted → back in progress, with the reason."""
    finding = action.finding
    person = _require_engagement_auditor(finding.engagement, actor)
    if action.status != ActionStatus.DONE:
        raise ValidationError(_("Only an action reported as done can be followed up."))
    if not note.strip():
        raise ValidationError({"verification_note": _("Record what the follow-up found.")})
    action.verification_note, action.verified_by, action.verified_at = note.strip(), person, timezone.now()
    action.status = ActionStatus.CLOSED if accept else ActionStatus.IN_PROGRESS
    action.save()
    if accept and not finding.actions.exclude(status=ActionStatus.CLOSED).exists():
        finding.status, finding.closed_at = AuditFindingStatus.CLOSED, timezone.now()
        finding.save()
    return action
