"""The registry: decorators register checks under unique codes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mamoru.compliance import registry
from mamoru.compliance.choices import Severity
from mamoru.compliance.registry import FindingData, policy_check


def test_core_checks_are_registered_at_start_up():
    codes = {c.code for c in registry.get_checks()}
    assert {"CORE-001", "CORE-002", "CORE-003"} <= codes
    assert registry.REGISTRY["CORE-003"].clause == "6(1)"


def test_a_second_check_with_the_same_code_is_refused(scratch_registry):
    @policy_check(code="TEST-001", clause="6(1)", severity=Severity.LOW, title="first")
    def first(ctx):
        return []

    with pytest.raises(ImproperlyConfigured, match="TEST-001"):
        @policy_check(code="TEST-001", clause="6(2)", severity=Severity.LOW, title="second")
        def second(ctx):
            return []

    assert registry.REGISTRY["TEST-001"].title == "first"


def test_the_same_function_registered_again_is_not_a_conflict(scratch_registry):
    def check(ctx):
        return []

    policy_check(code="TEST-002", clause="6(1)", severity=Severity.LOW, title="t")(check)
    policy_check(code="TEST-002", clause="6(1)", severity=Severity.LOW, title="t")(check)
    assert registry.REGISTRY["TEST-002"].func is check


@pytest.mark.parametrize(("code", "severity"), [("core-1", Severity.LOW), ("CORE-004", "urgent")])
def test_malformed_registrations_are_refused(code, severity):
    with pytest.raises(ImproperlyConfigured):
        policy_check(code=code, clause="6(1)", severity=severity, title="t")


def test_unknown_codes_are_named():
    with pytest.raises(registry.UnknownCheck, match="NOPE-001"):
        registry.get_checks(["CORE-001", "NOPE-001"])
    assert [c.code for c in registry.get_checks(["core-002"])] == ["CORE-002"]


def test_finding_data_takes_its_subject_from_the_object(world):
    sec = world.units["sec_b"]
    data = FindingData(org_unit=sec, obj=sec, message="m")
    assert (data.object_type, data.object_id, data.object_repr) == ("core.orgunit", str(sec.pk), "課B")
    with pytest.raises(ValueError, match="message"):
        FindingData(org_unit=sec, message="  ")
    with pytest.raises(ValueError, match="severity"):
        FindingData(org_unit=sec, message="m", severity="urgent")
