"""``mamoru check``: JSON that parses, text tables, exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mamoru.compliance.choices import FindingStatus, Severity
from mamoru.compliance.models import Finding
from mamoru.compliance.registry import policy_check
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def check(*args):
    """Run the command; return (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    status = 0
    try:
        call_command("policycheck", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        status = exc.code
    except CommandError as exc:
        status = exc.returncode
        err.write(str(exc))
    return status, out.getvalue(), err.getvalue()


def test_json_output_parses_and_names_the_findings(world):
    status, out, _ = check("--format", "json")
    assert status == 0
    items = json.loads(out)
    assert {i["code"] for i in items} == {"CORE-001", "CORE-002", "CORE-003"}
    sec_b = next(i for i in items if i["code"] == "CORE-003" and i["object"]["repr"] == "課B")
    assert sec_b == {
        "id": Finding.objects.get(code="CORE-003", object_repr="課B").pk,
        "code": "CORE-003", "clause": "6(1)", "severity": "medium", "status": "open",
        "title": sec_b["title"], "message": sec_b["message"],
        "object": {"type": "core.orgunit", "id": str(world.units["sec_b"].pk), "repr": "課B"},
        "org_unit": {"id": world.units["sec_b"].pk, "name": "課B"},
    }
    assert "課B" in sec_b["message"]
    assert Finding.objects.count() == len(items)


def test_findings_are_recorded_as_the_cli(world):
    check()
    entry = AuditEntry.objects.filter(object_type="compliance.finding").first()
    assert entry.actor == "mamoru check" and entry.actor_id is None


def test_text_output_is_a_table(world):
    status, out, _ = check("--code", "CORE-003")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["severity", "code", "clause", "object", "message"]
    assert any(line.startswith("medium") and "CORE-003" in line and "課A2" in line for line in lines)
    assert "3 finding(s) from 1 check(s): 3 open, 3 new" in lines[-1]


@pytest.mark.parametrize(("fail_on", "expected"), [
    (None, 0), ("info", 1), ("medium", 1), ("high", 1), ("critical", 0)])
def test_fail_on(world, fail_on, expected):
    args = ["--fail-on", fail_on] if fail_on else []
    assert check("--format", "json", *args)[0] == expected


def test_fail_on_counts_only_open_findings(world):
    from mamoru.compliance import services

    check("--code", "CORE-003")
    other_city = world.units["other_city"].path
    for f in Finding.objects.filter(code="CORE-003"):
        ciso = "other_ciso" if f.org_unit.path.startswith(other_city) else "ciso"
        services.finding_accept(finding=f, reason="sections being merged", actor=world.user(ciso))
    status, out, _ = check("--code", "CORE-003", "--fail-on", "low", "--format", "json")
    assert status == 0
    assert {i["status"] for i in json.loads(out)} == {FindingStatus.ACCEPTED}


def test_no_save_reports_without_recording(world):
    status, out, _ = check("--no-save", "--format", "json", "--code", "CORE-003", "--code", "CORE-001")
    assert status == 0
    assert {i["code"] for i in json.loads(out)} == {"CORE-001", "CORE-003"}
    assert all(i["id"] is None for i in json.loads(out))
    assert not Finding.objects.exists()


def test_a_crashing_check_exits_2_and_is_reported_on_stderr(world, scratch_registry):
    @policy_check(code="TEST-990", clause="6(1)", severity=Severity.LOW, title="broken")
    def broken(ctx):
        raise ZeroDivisionError("division by zero")

    status, out, err = check("--format", "json", "--fail-on", "info")
    assert status == 2
    assert "TEST-990" in err and "ZeroDivisionError" in err
    assert {i["code"] for i in json.loads(out)} == {"CORE-001", "CORE-002", "CORE-003"}


def test_unknown_code_exits_2(world):
    status, out, err = check("--code", "NOPE-001")
    assert status == 2 and out == "" and "NOPE-001" in err


def test_municipality_option(world):
    status, out, _ = check("--format", "json", "--municipality", "other-city")
    assert status == 0
    assert {i["org_unit"]["name"] for i in json.loads(out)} <= {"他市", "他市 課"}
    assert check("--municipality", "nowhere")[0] == 2


def test_list_names_the_registered_checks(world):
    status, out, _ = check("--list", "--format", "json")
    assert status == 0
    assert {"CORE-001", "CORE-002", "CORE-003"} <= {c["code"] for c in json.loads(out)}


def test_the_mamoru_cli_prints_only_json_on_stdout(tmp_path: Path):
    """The real ``mamoru check`` in a fresh installation: stdout is one JSON document, exit 1 on --fail-on."""
    env = {**os.environ, "MAMORU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mamoru.settings"}
    env.pop("MAMORU_DATABASE_URL", None)
    mamoru = [sys.executable, "-c", "from mamoru.cli import main; main()"]
    subprocess.run([*mamoru, "init"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([*mamoru, "manage", "shell", "-c", "from mamoru.core import services; "
                    "services.municipality_create(name='新市', code='new-city')"],
                   env=env, check=True, capture_output=True, timeout=300)
    done = subprocess.run([*mamoru, "check", "--format", "json", "--fail-on", "high"], env=env,
                          capture_output=True, text=True, timeout=300)
    items = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr  # a new city: nobody is its CISO yet
    assert items and {"code", "clause", "severity", "message", "object", "org_unit", "status"} <= set(items[0])
