"""Read side of self-inspection and audit: progress, results (rates per department, chapter and requirement,
compared with the previous year), and the lists behind the pages. Every query starts from a restricted queryset,
so a department head's dashboard covers their department and a section manager's their section."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from mamoru.core.models import OrgUnit
from mamoru.inspection.choices import ActionStatus, AnswerValue, AssignmentStatus
from mamoru.inspection.models import (
    Answer,
    Assignment,
    AuditFinding,
    AuditPlan,
    Campaign,
    CorrectiveAction,
    Engagement,
    answer_rate,
)

WEAKEST = 10


def campaigns(user: Any) -> QuerySet[Campaign]:
    return Campaign.objects.restrict(user, "view").order_by("-fiscal_year", "-pk")


def my_assignments(user: Any) -> QuerySet[Assignment]:
    return (Assignment.objects.filter(person__user=user).select_related("campaign", "org_unit")
            .order_by("-campaign__fiscal_year", "audience"))


@dataclass
class DepartmentProgress:
    department_id: int
    name: str
    assigned: int = 0
    submitted: int = 0
    draft: int = 0

    @property
    def not_started(self) -> int:
        return self.assigned - self.submitted - self.draft

    @property
    def percent(self) -> float:
        return round(100.0 * self.submitted / self.assigned, 1) if self.assigned else 0.0


def campaign_progress(user: Any, campaign: Campaign) -> list[DepartmentProgress]:
    """Assignments per department the user oversees: how many were submitted, saved as drafts, not started."""
    rows = (Assignment.objects.restrict(user, "view").filter(campaign=campaign)
            .values("department_id").annotate(
                assigned=Count("id"), submitted=Count("id", filter=Q(status=AssignmentStatus.SUBMITTED)),
                draft=Count("id", filter=Q(status=AssignmentStatus.DRAFT))))
    names = _unit_names({r["department_id"] for r in rows})
    out = [DepartmentProgress(department_id=r["department_id"], name=names.get(r["department_id"], "?"),
                              assigned=r["assigned"], submitted=r["submitted"], draft=r["draft"]) for r in rows]
    return sorted(out, key=lambda p: names.get(p.department_id, ""))


def _unit_names(ids: set[int]) -> dict[int, str]:
    return dict(OrgUnit.objects.filter(pk__in=ids).order_by().values_list("pk", "name"))


@dataclass
class Rate:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    previous: float | None = None

    @property
    def rate(self) -> float | None:
        return answer_rate(self.counts)

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def columns(self) -> list[int]:
        """The counts of yes, partly, no and not applicable, in that order."""
        return [self.counts.get(v, 0) for v in VALUE_ORDER]

    @property
    def change(self) -> float | None:
        return None if self.rate is None or self.previous is None else round(self.rate - self.previous, 1)


@dataclass
class Results:
    campaign: Campaign
    previous: Campaign | None
    overall: Rate
    departments: list[Rate]
    chapters: list[Rate]
    requirements: list[Rate]

    @property
    def weakest(self) -> list[Rate]:
        rated = [r for r in self.requirements if r.rate is not None]
        return sorted(rated, key=lambda r: (r.rate, -r.answered, r.key))[:WEAKEST]


def _natural(key: str) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))


def _tally(user: Any, campaign: Campaign) -> tuple[dict[str, dict[str, int]], ...]:
    """Submitted answers counted by (department, value), (chapter, value) and (requirement, value): one query."""
    rows = (Answer.objects.restrict(user, "view")
            .filter(assignment__campaign=campaign, assignment__status=AssignmentStatus.SUBMITTED)
            .exclude(value="").order_by()
            .values_list("assignment__department_id", "question__chapter", "question__requirement", "value")
            .annotate(n=Count("id")))
    by_dept: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_chapter: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_req: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overall: dict[str, int] = defaultdict(int)
    for dept, chapter, requirement, value, n in rows:
        by_dept[str(dept)][value] += n
        by_chapter[chapter][value] += n
        by_req[requirement][value] += n
        overall[value] += n
    return {"": overall}, by_dept, by_chapter, by_req


def campaign_results(user: Any, campaign: Campaign) -> Results:
    """Compliance rates of the submitted answers the user may read, and the same for the previous fiscal year's
    campaign (matched by department, chapter and requirement number)."""
    from mamoru.inspection.services import previous_campaign

    overall, by_dept, by_chapter, by_req = _tally(user, campaign)
    previous = previous_campaign(campaign)
    before: tuple[dict[str, dict[str, int]], ...] = ({}, {}, {}, {})
    if previous is not None:
        before = _tally(user, previous)
    questions = {}
    chapter_names = {}
    for requirement, chapter, heading, text in campaign.questions.order_by("order").values_list(
            "requirement", "chapter", "chapter_heading", "text"):
        questions.setdefault(requirement, text)
        chapter_names.setdefault(chapter, heading)
    names = _unit_names({int(k) for k in (*by_dept, *before[1]) if k.isdigit()})

    def rates(current: dict[str, dict[str, int]], old: dict[str, dict[str, int]], label: Any) -> list[Rate]:
        return [Rate(key=k, label=label(k), counts=dict(current[k]), previous=answer_rate(old.get(k, {})))
                for k in current]

    departments = sorted(rates(by_dept, before[1], lambda k: names.get(int(k), "?")), key=lambda r: r.label)
    chapters = sorted(rates(by_chapter, before[2], lambda k: f"{k} {chapter_names.get(k, '')}".strip()),
                      key=lambda r: _natural(r.key))
    requirements = sorted(rates(by_req, before[3], lambda k: questions.get(k, "")), key=lambda r: _natural(r.key))
    total = Rate(key="", label="", counts=dict(overall[""]), previous=answer_rate(before[0].get("", {})))
    return Results(campaign=campaign, previous=previous, overall=total, departments=departments,
                   chapters=chapters, requirements=requirements)


def answers_of(assignment: Assignment) -> dict[int, Answer]:
    return {a.question_id: a for a in assignment.answers.prefetch_related("evidence")}


# --- audit -------------------------------------------------------------------------------------------------

def plans(user: Any) -> QuerySet[AuditPlan]:
    return AuditPlan.objects.restrict(user, "view").select_related("parent", "approved_by").order_by(
        "-first_year", "kind")


def engagements(user: Any) -> QuerySet[Engagement]:
    return Engagement.objects.restrict(user, "view").select_related("plan").prefetch_related("sections", "auditors")


def findings(user: Any) -> QuerySet[AuditFinding]:
    return (AuditFinding.objects.restrict(user, "view").select_related("engagement", "org_unit")
            .annotate(open_actions=Count("actions", filter=~Q(actions__status=ActionStatus.CLOSED)))
            .order_by("status", "-engagement__starts_on", "number"))


def actions_for(user: Any, finding: AuditFinding) -> QuerySet[CorrectiveAction]:
    return (CorrectiveAction.objects.restrict(user, "view").filter(finding=finding)
            .select_related("owner", "verified_by"))


VALUE_ORDER = (AnswerValue.YES, AnswerValue.PARTLY, AnswerValue.NO, AnswerValue.NOT_APPLICABLE)
