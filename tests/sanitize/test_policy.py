"""Policy files (YAML or JSON): every key optional; a wrong key or value is an error that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamoru.sanitize import Limits, Policy, PolicyError, load_policy


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_policy_with_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", """
keep_headers: [From, To, Subject]
defang_urls: true
output_charset: ISO-2022-JP
attachments: {pdf: disarm, office: disarm, archive: hold}
limits: {max_message_bytes: 1048576, max_parts: 50, max_depth: 5}
""")
    policy = load_policy(path)
    assert policy.keep_headers == ("From", "To", "Subject")
    assert policy.defang_urls is True and policy.output_charset == "iso-2022-jp"
    assert dict(policy.attachments) == {"pdf": "disarm", "office": "disarm", "image": "remove", "ole": "remove",
                                        "archive": "hold", "other": "remove"}
    assert policy.limits == Limits(max_message_bytes=1048576, max_parts=50, max_depth=5)


def test_json_policy_and_empty_file(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "p.json", '{"attachments": {"image": "disarm"}}'))
    assert policy.action_for("image") == "disarm"
    assert load_policy(write(tmp_path, "empty.yaml", "")) == Policy()


@pytest.mark.parametrize(("text", "named"), [
    ("colour: red", "colour: unknown key"),
    ("attachments: {pdf: burn}", "attachments.pdf: must be one of remove, disarm, hold"),
    ("attachments: {exe: remove}", "attachments.exe: unknown category"),
    ("attachments: {message: remove}", "attachments.message: attached messages are always sanitized"),
    ("limits: {max_parts: -1}", "limits.max_parts: must be a positive whole number"),
    ("limits: {max_depth: 1000}", "limits.max_depth: at most 64"),
    ("limits: {max_size: 10}", "limits.max_size: unknown key"),
    ("output_charset: shift_jis", "output_charset: must be one of utf-8, iso-2022-jp"),
    ("defang_urls: yes please", "defang_urls: must be true or false"),
    ("keep_headers: From", "keep_headers: must be a list of header names"),
    ("keep_headers: ['Bad Header:']", "keep_headers: must be a list of header names"),
    ("keep_headers: [From, Content-Type]", "keep_headers: Content-Type is written by the sanitizer itself"),
    ("keep_headers: [X-Mamoru-Sanitized]", "keep_headers: X-Mamoru-Sanitized is written by the sanitizer itself"),
    ("- just a list", "the top level must be a mapping"),
    ("attachments: [pdf]", "attachments: must be a mapping"),
])
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = write(tmp_path, "policy.yaml", text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ") and named in str(caught.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(write(tmp_path, "bad.yaml", "attachments: {pdf: [unclosed"))
    with pytest.raises(PolicyError, match="not valid JSON"):
        load_policy(write(tmp_path, "bad.json", "{'single': 'quotes'}"))


def test_policy_built_in_code_is_checked_too() -> None:
    assert Policy(attachments={"pdf": "disarm"}).action_for("office") == "remove"
    with pytest.raises(PolicyError, match=r"attachments\.pdf"):
        Policy(attachments={"pdf": "keep"})
    with pytest.raises(PolicyError, match=r"limits\.max_ratio"):
        Limits(max_ratio=0)
    with pytest.raises(TypeError):
        Policy().attachments["pdf"] = "disarm"  # type: ignore[index]  # frozen: a shared policy cannot drift
