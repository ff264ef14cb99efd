"""Writes of the policy library: documents, versions and their workflow, acknowledgements, exceptions, reviews.

A version moves draft → review → approved → published and is read-only from review on. Approval is the
CISO's, or a recorded decision of the 情報セキュリティ委員会 (date and minutes). Publishing asks every
in-scope person (or, for a procedure, every named reader) to acknowledge the version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit, Person
from mamoru.core.text import normalize
from mamoru.policy.choices import (
    ApprovalKind,
    ClauseKind,
    DocumentKind,
    ExceptionStatus,
    ReviewTrigger,
    VersionStatus,
)
from mamoru.policy.models import (
    Acknowledgement,
    Clause,
    GlossaryTerm,
    PolicyDocument,
    PolicyException,
    PolicyReview,
    PolicyVersion,
)


@dataclass(frozen=True)
class ClauseInput:
    """A clause to write, with its sub-clauses (the content loader's ClauseData has the same shape)."""

    address: str
    number: str
    heading: str
    text: str
    level: int = 0
    kind: str = ClauseKind.CLAUSE
    children: tuple[Any, ...] = ()
    roles: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    evidence: str = ""
    implements: str = ""


def person_of(user: Any) -> Person | None:
    return Person.objects.filter(user=user).first() if user is not None and user.is_authenticated else None


# --- documents --------------------------------------------------------------------------------------

@transaction.atomic
def document_create(*, municipality: OrgUnit, kind: str, slug: str, title: str, is_public: bool | None = None,
                    readers: Iterable[Person] = (), sections: Iterable[OrgUnit] = (), **fields: Any
                    ) -> PolicyDocument:
    document = PolicyDocument(municipality=municipality, kind=kind, slug=slug, title=title,
                              is_public=kind != DocumentKind.PROCEDURE if is_public is None else is_public, **fields)
    document.full_clean()
    document.save()
    people, units = list(readers), list(sections)
    for person in people:
        if person.org_unit.root_id != municipality.pk:
            raise ValidationError({"readers": _("Readers must belong to the municipality.")})
    document.readers.set(people)
    document.sections.set(units)
    return document


# --- versions ---------------------------------------------------------------------------------------

def _write_clauses(version: PolicyVersion, clauses: Iterable[Any]) -> int:
    """Create the clause tree (depth first, in order); returns how many were written."""
    order = 0

    def write(items: Iterable[Any], parent: Clause | None) -> None:
        nonlocal order
        for item in items:
            order += 1
            clause = Clause(version=version, parent=parent, order=order, level=item.level,
                            kind=getattr(item, "kind", ClauseKind.CLAUSE), address=item.address,
                            number=item.number, heading=item.heading, text=item.text,
                            roles=list(getattr(item, "roles", ())), tiers=list(getattr(item, "tiers", ())),
                            audience=list(getattr(item, "audience", ())), evidence=getattr(item, "evidence", ""),
                            implements=getattr(item, "implements", ""))
            clause.search_text = normalize(f"{clause.address} {clause.heading} {clause.text}")
            clause.save()
            write(item.children, clause)

    write(clauses, None)
    return order


@transaction.atomic
def version_create(*, document: PolicyDocument, clauses: Iterable[Any], glossary: Iterable[Any] = (),
                   change_summary: str = "", actor: Any = None) -> PolicyVersion:
    """A new draft with the given content (a default text, an imported catalogue)."""
    last = document.versions.order_by("-number").first()
    version = PolicyVersion(document=document, number=(last.number + 1) if last else 1,
                            change_summary=change_summary, created_by=person_of(actor))
    version.full_clean()
    version.save()
    _write_clauses(version, clauses)
    for i, term in enumerate(glossary):
        GlossaryTerm.objects.create(version=version, order=i + 1, term=term.term, definition=term.definition,
                                    clause=getattr(term, "clause", ""))
    return version


def _as_inputs(version: PolicyVersion) -> list[ClauseInput]:
    """The clause tree of a saved version, as inputs for a copy."""
    rows = list(version.clause_set.order_by("order"))
    children: dict[int | None, list[Clause]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)

    def build(parent_id: int | None) -> tuple[ClauseInput, ...]:
        return tuple(ClauseInput(address=c.address, number=c.number, heading=c.heading, text=c.text, level=c.level,
                                 kind=c.kind, children=build(c.pk), roles=tuple(c.roles), tiers=tuple(c.tiers),
                                 audience=tuple(c.audience), evidence=c.evidence, implements=c.implements)
                     for c in children.get(parent_id, []))

    return list(build(None))


@transaction.atomic
def version_draft(*, document: PolicyDocument, actor: Any, change_summary: str = "") -> PolicyVersion:
    """Start the next version as a copy of the latest one. Only one draft at a time."""
    if document.versions.exclude(status=VersionStatus.PUBLISHED).exists():
        raise ValidationError(_("This document already has a version in progress; finish or continue it."))
    source = document.versions.order_by("-number").first()
    clauses = _as_inputs(source) if source else []
    glossary = list(source.glossaryterm_set.order_by("order")) if source else []
    version = version_create(document=document, clauses=clauses, glossary=glossary,
                             change_summary=change_summary, actor=actor)
    audit.event(AuditEvent.APPROVAL, obj=version, actor=actor,
                details={"operation": "policy version drafted", "from_version": source.number if source else None})
    return version


def _require_draft(version: PolicyVersion) -> None:
    if not version.is_editable:
        raise ValidationError(_("Only a draft can be changed; this version is %(status)s.")
                              % {"status": version.get_status_display()})


@transaction.atomic
def clause_update(*, clause: Clause, **fields: Any) -> Clause:
    _require_draft(clause.version)
    for name, value in fields.items():
        setattr(clause, name, value)
    clause.full_clean()
    clause.save()
    return clause


@transaction.atomic
def version_submit(*, version: PolicyVersion, actor: Any) -> PolicyVersion:
    _require_draft(version)
    if not version.clause_set.exists():
        raise ValidationError(_("An empty version cannot be submitted."))
    version.status = VersionStatus.REVIEW
    version.submitted_at = timezone.now()
    version.save()
    return version


@transaction.atomic
def version_return(*, version: PolicyVersion, actor: Any, note: str = "") -> PolicyVersion:
    """Send a version in review back to draft (e.g. the committee asked for changes)."""
    if version.status != VersionStatus.REVIEW:
        raise ValidationError(_("Only a version in review can be sent back."))
    version.status = VersionStatus.DRAFT
    version.save()
    audit.event(AuditEvent.APPROVAL, obj=version, actor=actor,
                details={"operation": "policy version returned", "note": note})
    return version


@transaction.atomic
def version_approve(*, version: PolicyVersion, actor: Any, kind: str, decided_on: dt.date | None = None,
                    minutes: Any = None) -> PolicyVersion:
    """Approve a version in review: by the CISO, or by recording the committee's decision (date + minutes)."""
    if version.status != VersionStatus.REVIEW:
        raise ValidationError(_("Only a version in review can be approved."))
    errors: dict[str, str] = {}
    if kind == ApprovalKind.COMMITTEE:
        if decided_on is None:
            errors["committee_decided_on"] = _("Enter the date of the committee's decision.")
        if not minutes:
            errors["committee_minutes"] = _("Attach the minutes of the committee's decision.")
    elif kind != ApprovalKind.CISO:
        errors["approval_kind"] = _("Choose who approved the version.")
    if errors:
        raise ValidationError(errors)
    version.status = VersionStatus.APPROVED
    version.approval_kind = kind
    version.approved_by = person_of(actor)
    version.approved_at = timezone.now()
    if kind == ApprovalKind.COMMITTEE:
        version.committee_decided_on = decided_on
        version.committee_minutes = minutes
    version.full_clean()
    version.save()
    audit.event(AuditEvent.APPROVAL, obj=version, actor=actor, details={
        "operation": "policy version approved", "by": kind,
        "committee_decided_on": decided_on.isoformat() if decided_on else None})
    return version


def _acknowledgers(document: PolicyDocument) -> list[Person]:
    if document.kind == DocumentKind.PROCEDURE or not document.is_public:
        return list(document.readers.filter(is_active=True).select_related("org_unit"))
    return list(Person.objects.filter(is_active=True, org_unit__in_scope=True,
                                      org_unit__path__startswith=f"/{document.municipality_id}/")
                .select_related("org_unit"))


@transaction.atomic
def version_publish(*, version: PolicyVersion, actor: Any, effective_on: dt.date,
                    acknowledge_by: dt.date | None = None) -> PolicyVersion:
    """Publish an approved version; every person concerned is asked to acknowledge it."""
    if version.status != VersionStatus.APPROVED:
        raise ValidationError(_("Only an approved version can be published."))
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.effective_on = effective_on
    version.acknowledge_by = acknowledge_by or (
        max(effective_on, timezone.localdate()) + dt.timedelta(days=version.document.acknowledge_days))
    version.full_clean()
    version.save()
    people = _acknowledgers(version.document)
    Acknowledgement.objects.bulk_create(
        [Acknowledgement(version=version, person=p, org_unit=p.org_unit) for p in people], ignore_conflicts=True)
    audit.event(AuditEvent.APPROVAL, obj=version, actor=actor, details={
        "operation": "policy version published", "effective_on": effective_on.isoformat(),
        "acknowledge_by": version.acknowledge_by.isoformat(), "acknowledgements_requested": len(people)})
    return version


@transaction.atomic
def version_publish_default(*, version: PolicyVersion, effective_on: dt.date) -> PolicyVersion:
    """The default content's first version: published as loaded, without an acknowledgement round."""
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.effective_on = effective_on
    version.save()
    return version


@transaction.atomic
def acknowledgement_confirm(*, version: PolicyVersion, user: Any) -> Acknowledgement:
    person = person_of(user)
    ack = Acknowledgement.objects.filter(version=version, person=person).first() if person else None
    if ack is None:
        raise ValidationError(_("You were not asked to acknowledge this version."))
    if ack.acknowledged_at is None:
        ack.acknowledged_at = timezone.now()
        ack.save()
    return ack


# --- exceptions -------------------------------------------------------------------------------------

@transaction.atomic
def exception_request(*, org_unit: OrgUnit, actor: Any, emergency: bool = False,
                      acted_on: dt.date | None = None, report_days: int = 7, **fields: Any) -> PolicyException:
    exc = PolicyException(org_unit=org_unit, requested_by=person_of(actor), emergency=emergency, **fields)
    if emergency:
        exc.acted_on = acted_on or timezone.localdate()
        if exc.acted_on > timezone.localdate():
            # A future date would push the report deadline out: the measure has been taken, so it is past.
            raise ValidationError({"acted_on": _("The date the measure was taken cannot be in the future.")})
        exc.report_due_on = exc.acted_on + dt.timedelta(days=report_days)
    if exc.starts_on and exc.ends_on and exc.ends_on < exc.starts_on:
        raise ValidationError({"ends_on": _("The end date is before the start date.")})
    if exc.document is not None and exc.document.municipality_id != org_unit.root_id:
        raise ValidationError({"document": _("Choose a document of the section's municipality.")})
    exc.full_clean()
    exc.save()
    return exc


@transaction.atomic
def exception_decide(*, exception: PolicyException, actor: Any, approve: bool, note: str = "") -> PolicyException:
    exception = PolicyException.objects.select_for_update().get(pk=exception.pk)  # one decision at a time
    if exception.status != ExceptionStatus.REQUESTED:
        raise ValidationError(_("This exception has already been decided."))
    exception.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REJECTED
    exception.decided_by = person_of(actor)
    exception.decided_at = timezone.now()
    exception.decision_note = note
    exception.save()
    audit.event(AuditEvent.APPROVAL, obj=exception, actor=actor, details={
        "operation": "policy exception approved" if approve else "policy exception rejected", "note": note})
    return exception


@transaction.atomic
def exception_report(*, exception: PolicyException, actor: Any, report: str) -> PolicyException:
    """The after-the-fact report of an emergency exception."""
    if not exception.emergency:
        raise ValidationError(_("Only an emergency exception is reported after the fact."))
    if exception.reported_at is not None:
        raise ValidationError(_("This emergency has already been reported."))
    if not report.strip():
        raise ValidationError({"report": _("Describe what was done and why.")})
    exception.reported_at = timezone.now()
    exception.report = report.strip()
    exception.save()
    return exception


@transaction.atomic
def exception_close(*, exception: PolicyException, actor: Any) -> PolicyException:
    if exception.status != ExceptionStatus.APPROVED:
        raise ValidationError(_("Only an approved exception can be closed."))
    exception.status = ExceptionStatus.CLOSED
    exception.closed_at = timezone.now()
    exception.save()
    return exception


@transaction.atomic
def exception_renew(*, exception: PolicyException, actor: Any, ends_on: dt.date, reason: str) -> PolicyException:
    """Ask to extend an exception: a new request for the following period, linked to this one."""
    if exception.status != ExceptionStatus.APPROVED:
        raise ValidationError(_("Only an approved exception can be renewed."))
    if exception.renewals.exclude(status=ExceptionStatus.REJECTED).exists():
        raise ValidationError(_("A renewal of this exception has already been requested."))
    start = exception.ends_on + dt.timedelta(days=1)
    return exception_request(org_unit=exception.org_unit, actor=actor, document=exception.document,
                             clause=exception.clause, title=exception.title, reason=reason,
                             compensating_measures=exception.compensating_measures, starts_on=start,
                             ends_on=ends_on, renewal_of=exception)


# --- reviews ----------------------------------------------------------------------------------------

@transaction.atomic
def review_record(*, document: PolicyDocument, actor: Any, **fields: Any) -> PolicyReview:
    triggers = fields.get("triggers") or []
    unknown = [t for t in triggers if t not in ReviewTrigger.values] if isinstance(triggers, list | tuple) else [
        triggers]
    if unknown:  # the JSON field itself accepts anything
        raise ValidationError({"triggers": _("Unknown review triggers: %(values)s.")
                               % {"values": ", ".join(map(str, unknown))}})
    review = PolicyReview(document=document, reviewer=person_of(actor), **fields)
    review.full_clean()
    review.save()
    return review
