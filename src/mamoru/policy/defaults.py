"""Default policy content per municipality (loaded by ``mamoru init``) and the demo city's procedure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core.models import OrgUnit, Person
from mamoru.policy import services
from mamoru.policy.choices import ClauseKind, DocumentKind
from mamoru.policy.content.loader import (
    BasicPolicy,
    Catalogue,
    ClauseData,
    Requirement,
    display_label,
    load_basic_policy,
    load_catalogue,
)
from mamoru.policy.models import PolicyDocument
from mamoru.policy.services import ClauseInput

BASIC_POLICY_SLUG = "basic-policy"
STANDARDS_SLUG = "standards"


def policy_clauses(policy: BasicPolicy) -> list[ClauseInput]:
    """The basic policy's sections and clauses as clause inputs (level 0 = the ten sections)."""

    def convert(item: ClauseData, depth: int) -> ClauseInput:
        return ClauseInput(address=item.address, number=display_label(item.number, depth + 1), heading=item.heading,
                           text=item.text, level=depth,
                           kind=ClauseKind.SECTION if depth == 0 else ClauseKind.CLAUSE,
                           children=tuple(convert(c, depth + 1) for c in item.children))

    return [convert(section, 0) for section in policy.sections]


def catalogue_clauses(catalogue: Catalogue) -> list[ClauseInput]:
    """The requirement catalogue as clauses: chapter (level 0) → section (1) → requirement (2)."""

    def requirement(r: Requirement) -> ClauseInput:
        return ClauseInput(address=r.id, number=r.id, heading="", text=r.text, level=2, kind=ClauseKind.REQUIREMENT,
                           roles=r.roles, tiers=r.tiers, audience=r.audience, evidence=r.evidence,
                           implements=r.implements)

    def heading(number: str, title: str, level: int, children: tuple[ClauseInput, ...]) -> ClauseInput:
        return ClauseInput(address=number, number=number, heading=title, text="", level=level,
                           kind=ClauseKind.SECTION, children=children)

    return [heading(chapter.number, chapter.heading, 0, tuple(
        heading(section.number, section.heading, 1, tuple(requirement(r) for r in section.requirements))
        for section in chapter.sections)) for chapter in catalogue.chapters]


@transaction.atomic
def default_documents_load(municipality: OrgUnit) -> str:
    """The seed's basic policy and the default standards, each published as version 1 (idempotent)."""
    added = []
    today = timezone.localdate()
    if not PolicyDocument.objects.filter(municipality=municipality, slug=BASIC_POLICY_SLUG).exists():
        policy = load_basic_policy()
        document = services.document_create(municipality=municipality, kind=DocumentKind.BASIC_POLICY,
                                            slug=BASIC_POLICY_SLUG, title=policy.title, order=1)
        version = services.version_create(document=document, clauses=policy_clauses(policy),
                                          glossary=policy.glossary, change_summary=_("Default content."))
        services.version_publish_default(version=version, effective_on=today)
        added.append(policy.title)
    if not PolicyDocument.objects.filter(municipality=municipality, slug=STANDARDS_SLUG).exists():
        catalogue = load_catalogue()
        document = services.document_create(municipality=municipality, kind=DocumentKind.STANDARDS,
                                            slug=STANDARDS_SLUG, title=catalogue.title, order=2)
        version = services.version_create(document=document, clauses=catalogue_clauses(catalogue),
                                          change_summary=_("Default content."))
        services.version_publish_default(version=version, effective_on=today)
        added.append(catalogue.title)
    return "、".join(added)


@transaction.atomic
def demo_policy_load(city: OrgUnit) -> None:
    """A non-public procedure of the demo city, readable by the people of one section."""
    if PolicyDocument.objects.filter(municipality=city, slug="resident-records-procedure").exists():
        return
    section = OrgUnit.objects.filter(path__startswith=city.path, kind="section").order_by("path").first()
    if section is None:
        return
    readers: list[Any] = list(Person.objects.filter(org_unit=section, is_active=True))
    document = services.document_create(
        municipality=city, kind=DocumentKind.PROCEDURE, slug="resident-records-procedure",
        title=_("Resident records system: operating procedure"), system_name=_("Resident records system"),
        readers=readers, sections=[section], order=10)
    clauses = [
        ClauseInput(address="1", number="1", heading=_("Purpose"), text=_(
            "This procedure sets out how the resident records system is operated under the standards.")),
        ClauseInput(address="2", number="2", heading=_("Sign-in"), text=_(
            "Operators sign in with their own ID and a second factor; shared IDs are not used.")),
        ClauseInput(address="3", number="3", heading=_("Printing and media"), text=_(
            "Printed lists are collected at once and shredded after use; USB media are not connected.")),
    ]
    version = services.version_create(document=document, clauses=clauses, change_summary=_("First version."))
    services.version_publish_default(version=version, effective_on=timezone.localdate())
    # Two exceptions that the policy checks report: one past its end date, one emergency not yet reported.
    today = timezone.localdate()
    manager = Person.objects.filter(org_unit=section, user__isnull=False).first()
    actor = manager.user if manager else None
    past = services.exception_request(
        org_unit=section, actor=actor, clause="6(3)②", title="庁内研修用PCのインターネット直接接続",
        reason="研修会場の機器更新が遅れたため。",
        compensating_measures="研修用PCは住民情報を扱わず、終了後に初期化する。",
        starts_on=today - dt.timedelta(days=120), ends_on=today - dt.timedelta(days=10))
    ciso = Person.objects.filter(user__isnull=False, assignments__role__code="ciso",
                                 org_unit__path__startswith=city.path).first()
    services.exception_decide(exception=past, actor=ciso.user if ciso else None, approve=True,
                              note="期間終了後は通常の運用に戻すこと。")
    services.exception_request(
        org_unit=section, actor=actor, emergency=True, acted_on=today - dt.timedelta(days=12), clause="6(4)",
        title="障害時のUSBメモリによるデータ移送", reason="ネットワーク障害で窓口業務が止まったため。",
        compensating_measures="暗号化USBメモリを使用し、移送後に消去した。",
        starts_on=today - dt.timedelta(days=12), ends_on=today - dt.timedelta(days=11))
