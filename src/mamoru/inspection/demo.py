"""Demo content: last fiscal year's self-inspection completed, this year's in progress, one audit with findings."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from mamoru.core.models import OrgUnit, Person
from mamoru.inspection import services
from mamoru.inspection.choices import (
    ActionStatus,
    AnswerValue,
    AssignmentStatus,
    Audience,
    CampaignStatus,
    PlanKind,
)
from mamoru.inspection.models import Answer, Assignment, Campaign, CorrectiveAction

COMMENTS = {
    AnswerValue.PARTLY: ["一部の職員で未実施のため、課内で再周知する。", "手順書はあるが更新されていない。",
                         "月次確認の記録が一部欠けている。"],
    AnswerValue.NO: ["担当者が不在のため未実施。来月までに対応する。", "対応手順が未整備。",
                     "記録を残していなかった。"],
}


def _user(username: str) -> Any:
    person = Person.objects.filter(user__username=username).select_related("user").first()
    return person.user if person else None


def _answer_all(campaign: Campaign, rng: random.Random, *, share: float, drafts: float, strength: float) -> None:
    """Answer ``share`` of the checklists (submitted), ``drafts`` more partly; the rest stays not started.
    ``strength`` moves every department's rate up or down (this year a little better than last)."""
    questions: dict[str, list[Any]] = {}
    for q in campaign.questions.order_by("order"):
        questions.setdefault(q.audience, []).append(q)
    now = timezone.now()
    answers: list[Answer] = []
    assignments = list(campaign.assignments.order_by("pk"))
    for a in assignments:
        roll = rng.random()
        if roll >= share + drafts:
            continue
        submit = roll < share
        bias = strength + (a.department_id % 5) * 0.03  # departments differ
        qs = questions[a.audience] if submit else questions[a.audience][: len(questions[a.audience]) // 2]
        for q in qs:
            weak = 0.25 if q.chapter in {"4", "5"} else 0.0  # physical and human measures are weaker
            r = rng.random() + bias - weak
            value = (AnswerValue.YES if r > 0.35 else AnswerValue.PARTLY if r > 0.18
                     else AnswerValue.NO if r > 0.05 else AnswerValue.NOT_APPLICABLE)
            comment = rng.choice(COMMENTS[value]) if value in COMMENTS else ""
            answers.append(Answer(assignment=a, question=q, value=value, comment=comment))
        a.answered = len(qs)
        a.status = AssignmentStatus.SUBMITTED if submit else AssignmentStatus.DRAFT
        a.submitted_at = now if submit else None
    Answer.objects.bulk_create(answers, batch_size=1000)
    Assignment.objects.bulk_update(assignments, ["answered", "status", "submitted_at"], batch_size=500)


@transaction.atomic
def load_demo_inspection(city: OrgUnit) -> None:
    if Campaign.objects.filter(municipality=city).exists():
        return
    today = timezone.localdate()
    year = services.fiscal_year_of(today)
    ciso = _user("ciso")
    services.templates_generate(municipality=city, actor=ciso)
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    last = services.campaign_start(
        municipality=city, actor=ciso, fiscal_year=year - 1, title=f"{year - 1}年度 情報セキュリティ自己点検",
        starts_on=dt.date(year - 1, 6, 1), due_on=dt.date(year - 1, 7, 31), audiences=Audience.values)
    _answer_all(last, rng, share=1.0, drafts=0.0, strength=-0.05)
    Campaign.objects.filter(pk=last.pk).update(status=CampaignStatus.CLOSED,
                                               closed_at=timezone.make_aware(dt.datetime(year - 1, 8, 10, 17)))
    starts = min(today, dt.date(year, 10, 1))
    current = services.campaign_start(
        municipality=city, actor=ciso, fiscal_year=year, title=f"{year}年度 情報セキュリティ自己点検",
        starts_on=starts, due_on=max(today + dt.timedelta(days=19), starts), audiences=Audience.values)
    _answer_all(current, rng, share=0.55, drafts=0.2, strength=0.04)
    _demo_audit(city, year)


def _demo_audit(city: OrgUnit, year: int) -> None:
    auditor = Person.objects.filter(user__username="kansa").first()
    if auditor is None:
        return
    sections = {u.code: u for u in OrgUnit.objects.filter(path__startswith=city.path, code__in=["zeimu", "shimin-ka"])}
    if len(sections) < 2:
        return
    ciso, kansa = _user("ciso"), auditor.user
    medium = services.plan_create(municipality=city, actor=kansa, kind=PlanKind.MEDIUM_TERM, first_year=year - 1,
                                  title=f"情報セキュリティ監査 中期計画（{year - 1}〜{year + 1}年度）",
                                  objectives="三層の対策、情報資産管理、委託先管理を3年で一巡する。")
    services.plan_approve(plan=medium, actor=ciso)
    yearly = services.plan_create(municipality=city, actor=kansa, kind=PlanKind.YEARLY, first_year=year,
                                  parent=medium, title=f"{year}年度 情報セキュリティ監査計画",
                                  objectives="住民情報を扱う課の情報資産管理と物理的セキュリティ。")
    services.plan_approve(plan=yearly, actor=ciso)
    today = timezone.localdate()
    start = max(dt.date(year, 4, 1), today - dt.timedelta(days=45))
    engagement = services.engagement_save(
        plan=yearly, actor=kansa, title="税務課・市民課 情報資産管理及び物理的セキュリティ監査",
        sections=[sections["zeimu"], sections["shimin-ka"]], auditors=[auditor], starts_on=start,
        ends_on=min(start + dt.timedelta(days=20), dt.date(year + 1, 3, 31)), requirements=[])
    services.engagement_advance(engagement=engagement, actor=kansa)
    services.note_add(engagement=engagement, actor=kansa, noted_on=start,
                      text="税務課の執務室を巡回。離席時の画面ロックを確認した。")
    services.note_add(engagement=engagement, actor=kansa, noted_on=min(today, start + dt.timedelta(days=3)),
                      text="市民課で電磁的記録媒体の管理簿を閲覧。貸出記録に返却日の記入漏れがある。")
    f1 = services.finding_add(
        engagement=engagement, actor=kansa, org_unit=sections["shimin-ka"], title="外部記録媒体の貸出記録の不備",
        severity="medium", evidence="管理簿の貸出12件中3件に返却日の記入がない。",
        recommendation="貸出・返却の記録を徹底し、月末に管理者が照合する。")
    f2 = services.finding_add(
        engagement=engagement, actor=kansa, org_unit=sections["zeimu"], title="離席時の画面ロック未実施",
        severity="low", evidence="巡回時、2台の端末が画面ロックされずに放置されていた。",
        recommendation="画面ロックの自動設定を5分以内とし、課内で再周知する。")
    services.finding_add(
        engagement=engagement, actor=kansa, org_unit=sections["zeimu"], title="施錠保管庫の鍵の管理",
        severity="high", evidence="保管庫の鍵が机上に置かれていた。",
        recommendation="鍵の保管場所を定め、持出記録をつける。")
    manager_shimin = Person.objects.filter(user__username="kacho-shimin-ka").first()
    manager_zeimu = Person.objects.filter(user__username="kacho-zeimu").first()
    if manager_shimin is None or manager_zeimu is None:
        return
    a1 = services.action_add(finding=f1, actor=manager_shimin.user, owner=manager_shimin,
                             description="貸出・返却の記録様式を改め、月末照合を開始する。",
                             due_on=today + dt.timedelta(days=1))
    services.action_progress(action=a1, actor=manager_shimin.user, status=ActionStatus.DONE,
                             note="新様式を10月から運用。10月末の照合記録あり。", completed_on=today)
    services.action_follow_up(action=a1, actor=kansa, accept=True, note="10月分の照合記録を確認した。是正済み。")
    a2 = services.action_add(finding=f2, actor=manager_zeimu.user, owner=manager_zeimu,
                             description="端末の画面ロック設定を5分に統一し、課内研修で周知する。",
                             due_on=today + dt.timedelta(days=30))
    services.action_progress(action=a2, actor=manager_zeimu.user, status=ActionStatus.IN_PROGRESS,
                             note="設定変更は完了。研修は来月実施予定。")
    # The third finding's action is overdue: the policy check INSP-001 reports it.
    late = services.action_add(finding=engagement.findings.get(number=3), actor=manager_zeimu.user,
                               owner=manager_zeimu, description="鍵の保管場所を定め、持出記録簿を作成する。",
                               due_on=today)
    CorrectiveAction.objects.filter(pk=late.pk).update(due_on=today - dt.timedelta(days=14))
    services.engagement_advance(engagement=engagement, actor=kansa,
                                conclusion="情報資産の管理は概ね適切。媒体管理と物理的な鍵管理に改善を要する。",
                                reported_on=today)
