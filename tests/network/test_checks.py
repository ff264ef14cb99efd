"""NET-… policy checks on the demo network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mamoru.compliance.services import checks_run
from mamoru.core.context import acting_as
from mamoru.network import services
from mamoru.network.models import Firewall, InformationSystem, NetworkProfile, Terminal

pytestmark = pytest.mark.django_db


@dataclass
class Seen:
    message: str
    object_repr: str


def found(city: Any, code: str) -> list[Seen]:
    """What the check reports for the city: each finding's message and the object it is about."""
    result = checks_run(codes=[code], municipality=city, save=False)
    assert not result.errors
    return [Seen(r.data.message, str(r.data.obj) if r.data.obj is not None else r.data.object_repr)
            for r in result.reported if r.code == code]


def test_net001_one_finding_per_violation_with_rule_and_example(network: Any) -> None:
    findings = found(network.city, "NET-001")
    assert len(findings) == 3
    web = next(f for f in findings if "lgwan → internet" in f.message)
    assert "6(3)②" in web.message and "tcp dport { 80, 443 }" in web.message and "10.20." in web.message


def test_net002_mynumber_terminal_without_export_blocking(network: Any) -> None:
    findings = found(network.city, "NET-002")
    assert [f.object_repr for f in findings] == ["MN-004"] and "MN-004" in findings[0].message
    with acting_as(label="test"):
        Terminal.objects.filter(name="MN-004").update(export_blocked=True)
    assert found(network.city, "NET-002") == []


def test_net003_follows_the_deployment_model(network: Any) -> None:
    assert [f.object_repr for f in found(network.city, "NET-003")] == ["グループウェア"]
    with acting_as(label="test"):
        NetworkProfile.objects.filter(municipality=network.city).update(deployment_model="beta")
    assert found(network.city, "NET-003") == []  # under β groupware belongs in the internet tier
    with acting_as(label="test"):
        InformationSystem.objects.filter(name="財務会計システム").update(tier="internet")
    assert [f.object_repr for f in found(network.city, "NET-003")] == ["財務会計システム"]


def test_net004_a_new_ruleset_is_unverified_until_the_next_run(network: Any) -> None:
    assert found(network.city, "NET-004") == []
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    with acting_as(user=network.user("chief")):
        services.ruleset_upload(firewall=firewall, filename="new.rules",
                                data=b"*filter\n:FORWARD DROP [0:0]\nCOMMIT\n", user=network.user("chief"))
    assert [f.object_repr for f in found(network.city, "NET-004")] == ["fw-core"]
    with acting_as(user=network.user("chief")):
        services.verification_run(municipality=network.city, user=network.user("chief"))
    assert found(network.city, "NET-004") == []


def test_net005_constructs_not_understood(network: Any) -> None:
    assert found(network.city, "NET-005") == []
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    text = (b"*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m limit --limit 5/min -j ACCEPT\nCOMMIT\n")
    with acting_as(user=network.user("chief")):
        services.ruleset_upload(firewall=firewall, filename="limit.rules", data=text, user=network.user("chief"))
        services.verification_run(municipality=network.city, user=network.user("chief"))
    assert [f.object_repr for f in found(network.city, "NET-005")] == ["fw-core"]
