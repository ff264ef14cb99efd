"""`mamoru sanitize` as a user runs it: stdin → stdout, exit 0 sanitized, 3 held, 2 unusable input."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path

from tests.sanitize.mails import b64, multipart_message, part, word

MAIL = multipart_message("mixed", [
    part("会議資料を添付します。".encode(), "text/plain; charset=utf-8", "8bit"),
    part(b64(b"PK\x05\x06" + b"\x00" * 18), "application/zip", "base64", 'attachment; filename="docs.zip"'),
], subject=word("会議資料"))


def run(*args: str, stdin: bytes = MAIL) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mamoru.cli", "sanitize", *args], input=stdin,
                          capture_output=True, timeout=120, check=False)


def test_sanitized_message_on_stdout_exit_0() -> None:
    done = run()
    assert done.returncode == 0 and done.stderr == b""
    out = email.message_from_bytes(done.stdout, policy=email.policy.default)
    assert str(out["Subject"]) == "会議資料"
    text = out.get_content()
    assert "会議資料を添付します。" in text and "[削除] docs.zip" in text


def test_report_json_to_stderr_or_a_file(tmp_path: Path) -> None:
    done = run("--report", "json", "--quarantine-id", "Q-test-1")
    assert done.returncode == 0
    report = json.loads(done.stderr)
    assert report["status"] == "sanitized" and report["quarantine_id"] == "Q-test-1"
    assert [p["action"] for p in report["parts"]] == ["kept", "removed"]
    assert "Q-test-1" in email.message_from_bytes(done.stdout, policy=email.policy.default).get_content()

    target = tmp_path / "report.json"
    done = run("--report-file", str(target))
    assert done.returncode == 0 and done.stderr == b""
    assert json.loads(target.read_text(encoding="utf-8"))["subject"] == "会議資料"


def test_held_message_exit_3_with_the_notice_on_stdout(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("attachments:\n  archive: hold\n", encoding="utf-8")
    done = run("--policy", str(policy), "--report", "json")
    assert done.returncode == 3
    notice = email.message_from_bytes(done.stdout, policy=email.policy.default)
    assert str(notice["Subject"]) == "[保留] 会議資料"
    assert "保留" in notice.get_content()
    assert json.loads(done.stderr)["hold_reason"] == "policy:hold: archive attachment docs.zip"


def test_unusable_input_exit_2_with_a_reason_and_no_traceback(tmp_path: Path) -> None:
    empty = run(stdin=b"")
    assert empty.returncode == 2 and b"standard input is empty" in empty.stderr and empty.stdout == b""
    missing = run("--policy", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and str(tmp_path / "nope.yaml").encode() in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("attachments: {pdf: shred}\n", encoding="utf-8")
    wrong = run("--policy", str(bad))
    assert wrong.returncode == 2 and b"attachments.pdf" in wrong.stderr
    for done in (empty, missing, wrong):
        assert b"Traceback" not in done.stderr


def test_binary_garbage_is_still_answered() -> None:
    done = run(stdin=bytes(range(256)) * 50)
    assert done.returncode in (0, 3) and b"Traceback" not in done.stderr
    assert b"X-Mamoru-Quarantine-Id: Q" in done.stdout


def test_help_explains_the_exit_statuses() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert b"3  held" in done.stdout and b"2  nothing could be done" in done.stdout and b"--report-file" in done.stdout
