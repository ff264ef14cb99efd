"""The requirement catalogue as YAML and XLSX: export a version, load a city's own as a new draft."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from mamoru.core.context import acting_as
from mamoru.policy.content.loader import load_catalogue
from mamoru.policy.defaults import default_documents_load
from mamoru.policy.models import PolicyDocument
from mamoru.policy.selectors import version_diff

pytestmark = pytest.mark.django_db


@pytest.fixture
def standards(world: Any) -> PolicyDocument:
    with acting_as(label="test"):
        default_documents_load(world.units["city"])
    world.code = world.units["city"].code
    return PolicyDocument.objects.get(municipality=world.units["city"], slug="standards")


def test_yaml_export_reads_back_as_the_same_catalogue(standards, world, tmp_path):
    path = tmp_path / "catalogue.yaml"
    call_command("policy", "catalogue-export", str(path), "--municipality", world.code)
    catalogue = load_catalogue(path.read_text())
    assert [c.number for c in catalogue.chapters] == [str(n) for n in range(1, 10)]
    assert sum(len(s.requirements) for c in catalogue.chapters for s in c.sections) == \
        standards.versions.get().clause_set.filter(kind="requirement").count() == 130


def test_xlsx_round_trip_drafts_an_identical_version(standards, world, tmp_path):
    path = tmp_path / "catalogue.xlsx"
    call_command("policy", "catalogue-export", str(path), "--municipality", world.code)
    ws = load_workbook(path).active
    assert [c.value for c in ws[1]][:3] == ["id", "chapter", "chapter_heading"] and ws.max_row == 131
    out = io.StringIO()
    call_command("policy", "catalogue-import", str(path), "--municipality", world.code, stdout=out)
    draft = standards.versions.get(number=2)
    assert draft.status == "draft" and "130" in out.getvalue()
    assert [row for row in version_diff(standards.versions.get(number=1), draft) if row.status != "same"] == []


def test_a_city_edits_its_catalogue_in_excel(standards, world, tmp_path):
    path = tmp_path / "catalogue.xlsx"
    call_command("policy", "catalogue-export", str(path), "--municipality", world.code)
    wb = load_workbook(path)
    ws = wb.active
    ws.cell(row=2, column=6).value = "CISOは、年度当初に情報セキュリティ対策の重点を定め、委員会に報告する。"
    wb.save(path)
    call_command("policy", "catalogue-import", str(path), "--municipality", world.code)
    rows = version_diff(standards.versions.get(number=1), standards.versions.get(number=2))
    changed = [r for r in rows if r.status != "same"]
    assert [r.address for r in changed] == [ws.cell(row=2, column=1).value]


def test_a_bad_catalogue_lists_every_problem_and_imports_nothing(standards, world, tmp_path, capsys):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "chapter", "chapter_heading", "section", "section_heading", "text", "roles", "tiers",
               "audience", "evidence", "implements"])
    ws.append(["1.1-01", "1", "組織体制", "1.1", "CISO", "本文", "ciso", "lgwan", "all_staff", "記録", "6(1)"])
    ws.append(["1.1-01", "1", "組織体制", "1.1", "CISO", "重複", "ciso", "moon", "all_staff", "記録", "99(9)"])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    with pytest.raises(CommandError) as failure:
        call_command("policy", "catalogue-import", str(path), "--municipality", world.code)
    assert failure.value.returncode == 1
    problems = capsys.readouterr().err
    assert "duplicate" in problems and "moon" in problems and "99(9)" in problems
    assert standards.versions.count() == 1


def test_yaml_import_of_a_city_catalogue(standards, world, tmp_path):
    data = {"title": "対策基準", "chapters": [{"number": "1", "heading": "組織体制", "sections": [
        {"number": "1.1", "heading": "体制", "requirements": [
            {"id": "1.1-01", "text": "CISOを置く。", "roles": ["ciso"], "tiers": [], "evidence": "任命書",
             "implements": "6(1)", "audience": ["all_staff"]}]}]}]}
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("policy", "catalogue-import", str(path), "--municipality", world.code)
    draft = standards.versions.get(number=2)
    assert list(draft.clause_set.values_list("address", flat=True)) == ["1", "1.1", "1.1-01"]
