"""The Japanese catalogue is complete, compiled, and current with the source."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mamoru"
PO = SRC / "locale" / "ja" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_every_message_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"fuzzy entries: {fuzzy[:5]}"
    assert len(po) > 100


def test_compiled_catalogue_matches_the_po_file():
    po = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.pofile(str(PO)) if not e.obsolete}
    mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(MO))}
    mo.pop((None, ""), None)
    assert po == mo, "run `make messages` to recompile the catalogue"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) not installed")
def test_catalogue_is_current_with_the_source(tmp_path):
    copy = tmp_path / "mamoru"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, "-c", "import sys; from django.core.management import execute_from_command_line; "
         "execute_from_command_line(['m', 'makemessages', '-l', 'ja', '--no-location', '--no-obsolete', "
         "'-i', 'static/*'])"],
        cwd=copy, check=True, capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mamoru.settings",
             "MAMORU_DATA_DIR": str(tmp_path / "data")})
    fresh = {e.msgid for e in polib.pofile(str(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po"))}
    committed = {e.msgid for e in polib.pofile(str(PO))}
    assert fresh == committed, f"missing: {sorted(fresh - committed)[:10]}; stale: {sorted(committed - fresh)[:10]}"


@pytest.mark.django_db
def test_sign_in_page_is_japanese(client):
    body = client.get("/accounts/login/").content.decode()
    assert 'lang="ja"' in body and "サインイン" in body
