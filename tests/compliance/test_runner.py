"""The runner turns what the checks report into findings, tracked from first to last sighting."""

from __future__ import annotations

import pytest
from django.db import connection

from mamoru.compliance import registry, services
from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.compliance.models import Finding
from mamoru.compliance.registry import FindingData, policy_check
from mamoru.core import services as core_services
from mamoru.core.models import AuditEntry
from tests.compliance.conftest import subjects

pytestmark = pytest.mark.django_db


def sec_b_finding():
    return Finding.objects.get(code="CORE-003", object_repr="課B")


def entries_for(finding):
    return AuditEntry.objects.filter(object_type="compliance.finding", object_id=str(finding.pk))


def test_a_new_finding_is_open_and_recorded_in_the_audit_trail(world):
    result = services.checks_run(codes=["CORE-003"])
    assert result.ok and result.created == 3 and len(result.open) == 3
    f = sec_b_finding()
    assert f.status == FindingStatus.OPEN and f.first_seen == f.last_seen and f.clause == "6(1)"
    assert entries_for(f).filter(action="create").count() == 1


def test_a_finding_seen_again_moves_last_seen_without_audit_noise(world):
    services.checks_run(codes=["CORE-003"])
    first = sec_b_finding()
    before = AuditEntry.objects.count()
    result = services.checks_run(codes=["CORE-003"])
    again = sec_b_finding()
    assert result.created == 0 and again.pk == first.pk
    assert again.last_seen > first.last_seen and again.first_seen == first.first_seen
    assert AuditEntry.objects.count() == before


def test_resolved_then_reported_again_reopens(world):
    services.checks_run(codes=["CORE-003"])
    assignment = core_services.role_assign(person=world.people["staff_b"], role="section_manager",
                                           org_unit=world.units["sec_b"])
    result = services.checks_run(codes=["CORE-003"])
    assert result.resolved == 1 and sec_b_finding().status == FindingStatus.RESOLVED
    assignment.delete()
    result = services.checks_run(codes=["CORE-003"])
    f = sec_b_finding()
    assert result.reopened == 1 and f.status == FindingStatus.OPEN and f.resolved_at is None
    statuses = [e.changes.get("status") for e in entries_for(f).order_by("seq") if "status" in e.changes]
    assert statuses == [[None, "open"], ["open", "resolved"], ["resolved", "open"]]


def test_an_accepted_finding_stays_accepted(world):
    services.checks_run(codes=["CORE-003"])
    services.finding_accept(finding=sec_b_finding(), reason="課B is being merged into 課A.",
                            actor=world.user("ciso"))
    result = services.checks_run(codes=["CORE-003"])
    assert sec_b_finding().status == FindingStatus.ACCEPTED
    assert {r.data.object_repr: r.status for r in result.reported}["課B"] == FindingStatus.ACCEPTED
    # Fixed afterwards: it is no longer reported, and an accepted finding stays accepted.
    core_services.role_assign(person=world.people["staff_b"], role="section_manager", org_unit=world.units["sec_b"])
    services.checks_run(codes=["CORE-003"])
    assert sec_b_finding().status == FindingStatus.ACCEPTED


def test_a_run_of_some_checks_leaves_the_others_findings_alone(world):
    services.checks_run()
    open_001 = Finding.objects.filter(code="CORE-001", status=FindingStatus.OPEN).count()
    services.checks_run(codes=["CORE-003"])
    assert Finding.objects.filter(code="CORE-001", status=FindingStatus.OPEN).count() == open_001 > 0


def test_no_save_reports_without_writing(world):
    before = AuditEntry.objects.count()
    result = services.checks_run(save=False)
    assert not result.saved and result.created == len(result.reported) > 0
    assert not Finding.objects.exists() and AuditEntry.objects.count() == before
    assert all(r.finding is None and r.status == FindingStatus.OPEN for r in result.reported)


def test_a_crashing_check_is_reported_and_the_others_still_run(world, scratch_registry):
    @policy_check(code="TEST-900", clause="6(1)", severity=Severity.LOW, title="broken")
    def broken(ctx):
        with connection.cursor() as cursor:  # a database error, the hardest kind to survive
            cursor.execute("SELECT * FROM no_such_table")
        return []

    @policy_check(code="TEST-901", clause="6(1)", severity=Severity.LOW, title="broken generator")
    def broken_generator(ctx):
        yield FindingData(org_unit=world.units["sec_b"], message="half")
        raise RuntimeError("boom")

    result = services.checks_run()
    assert {e.code for e in result.errors} == {"TEST-900", "TEST-901"}
    assert "RuntimeError: boom" in {e.error for e in result.errors}
    assert subjects("CORE-003") == {"課A2", "課B", "他市 課"}
    assert not Finding.objects.filter(code__startswith="TEST-").exists()  # nothing half-written


def test_a_crashing_check_does_not_resolve_its_findings(world, scratch_registry):
    state = {"crash": False}

    @policy_check(code="TEST-902", clause="6(1)", severity=Severity.LOW, title="flaky")
    def flaky(ctx):
        if state["crash"]:
            raise RuntimeError("database away")
        yield FindingData(org_unit=world.units["sec_b"], obj=world.units["sec_b"], message="flaky")

    services.checks_run(codes=["TEST-902"])
    state["crash"] = True
    result = services.checks_run(codes=["TEST-902"])
    assert not result.ok
    assert Finding.objects.get(code="TEST-902").status == FindingStatus.OPEN


def test_findings_of_a_removed_check_are_resolved_by_a_full_run(world, scratch_registry):
    @policy_check(code="TEST-903", clause="6(1)", severity=Severity.LOW, title="temporary")
    def temporary(ctx):
        yield FindingData(org_unit=world.units["sec_b"], message="temporary", object_type="x", object_id="1")

    services.checks_run()
    del registry.REGISTRY["TEST-903"]
    services.checks_run(codes=["CORE-003"])  # a partial run does not touch it
    assert Finding.objects.get(code="TEST-903").status == FindingStatus.OPEN
    services.checks_run()
    assert Finding.objects.get(code="TEST-903").status == FindingStatus.RESOLVED


def test_a_changed_message_or_severity_is_updated_and_audited(world, scratch_registry):
    severity = {"value": Severity.LOW}

    @policy_check(code="TEST-904", clause="6(1)", severity=Severity.LOW, title="changing")
    def changing(ctx):
        yield FindingData(org_unit=world.units["sec_b"], obj=world.units["sec_b"], message="m",
                          severity=severity["value"])

    services.checks_run(codes=["TEST-904"])
    severity["value"] = Severity.CRITICAL
    result = services.checks_run(codes=["TEST-904"])
    f = Finding.objects.get(code="TEST-904")
    assert result.changed == 1 and f.severity == Severity.CRITICAL
    assert entries_for(f).filter(action="update").first().changes["severity"] == ["low", "critical"]


def test_failing_threshold(world):
    result = services.checks_run()
    assert result.failing(None) == []
    assert {r.code for r in result.failing(Severity.HIGH)} == {"CORE-001", "CORE-002"}  # 他市 has no 統括
    assert result.failing(Severity.CRITICAL) == []
    assert {r.code for r in result.failing(Severity.MEDIUM)} == {"CORE-001", "CORE-002", "CORE-003"}
