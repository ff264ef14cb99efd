"""The real-world corpus (../shared/corpus/email, 320 messages): every message comes out as clean text with the
footer, and the Japanese mailing-list server's regression mails (fmlorg__fml8) come out as Japanese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mamoru.sanitize import sanitize_message
from tests.sanitize.mails import body_only, output_text, parsed

JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def corpus_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_every_corpus_message_sanitizes_to_clean_text(email_corpus: Path) -> None:
    files = corpus_files(email_corpus)
    assert len(files) >= 300
    held: dict[str, str] = {}
    for path in files:
        name = str(path.relative_to(email_corpus))
        result = sanitize_message(path.read_bytes())
        report = result.report
        assert not [d for d in report.defects if "internal error" in d], name
        head = result.message.split(b"\r\n\r\n", 1)[0]
        assert head.isascii(), name
        out = parsed(result)
        assert not out.defects and all(not p.defects for p in out.walk()), name
        assert out["X-Mamoru-Quarantine-Id"] == report.quarantine_id, name
        assert out.get_content_type() == "text/plain" and out.get_content_charset() == "utf-8", name
        text = output_text(result)
        if report.status == "held":
            held[name] = report.hold_reason
            assert str(out["Subject"]).startswith("[保留] ") and report.quarantine_id in text, name
            continue
        assert "【無害化処理のお知らせ】" in text and f"隔離 ID: {report.quarantine_id}" in text, name
        assert report.parts, name
        for action in report.parts:
            if action.action in ("removed", "disarmed"):
                assert action.sha256 in text, name
    # Only limits hold a message under the default policy; the corpus has one message with 300+ parts.
    assert all(reason.startswith("limit:") for reason in held.values()), held
    assert len(held) <= 3, held


def test_corpus_attachments_disarmed_through_the_cdr(email_corpus: Path) -> None:
    from mamoru.sanitize import Policy

    policy = Policy(attachments=dict.fromkeys(("pdf", "office", "image", "ole", "archive", "other"), "disarm"))
    disarmed = 0
    for path in corpus_files(email_corpus):
        raw = path.read_bytes()
        if b"Content-Disposition: attachment" not in raw and b"name=" not in raw:
            continue
        result = sanitize_message(raw, policy)
        assert not [d for d in result.report.defects if "internal error" in d], path
        out = parsed(result)
        assert not out.defects and all(not p.defects for p in out.walk()), path
        disarmed += result.report.counts()["disarmed"]
        if result.report.status == "sanitized":
            assert "【無害化処理のお知らせ】" in output_text(result), path
    assert disarmed >= 10


# (message, subject as decoded, a sentence of the body) — each a different way Japanese mail goes wrong.
FML8_CASES = [
    # RFC 2047 ISO-2022-JP subject split over two encoded words
    ("testmails/text=plain.jp", "[elena:00300] カードキャプターさくら映画版", "test message."),
    ("testmails/text=plain.sjis", "SJIS test mail", "SJIS で書かれたテストメールです。"),
    ("testmails/text=plain.euc-jp", "EUC-JP test mail", "EUC-JP で書かれたテストメールです。"),
    # declared ISO-2022-JP, really EUC-JP bytes
    ("errormails/jp-r.ne.jp", "Non Delivery Notification", "送信先E-mailアドレスの不一致です"),
    # bare JIS escape sequences in the Subject and an undeclared body
    ("errormails/freeserve.ne.jp", "Subject: 【freeserve管理メール】メールを受け取ることが出来ませんでした。",
     "freeserveではメールボックスに容量制限があります。"),
    ("errormails/goo.ne.jp", "[goo mail] Rejecting your mail to user@mail.goo.ne.jp",
     "お届け先のユーザ様のメールボックスが容量を越えているため、"),
    ("errormails/pakeo.ne.jp", "メールを送信できません", "は、登録されていません。"),
    # undeclared 8-bit EUC-JP Subject and body
    ("errormails/umin.ac.jp", "メール配信サーバ障害（２月２２日）のご連絡", "UMIN事務局"),
    ("errormails/nms354", "メール システム エラー - 配信不可", "以下の理由でこのメッセージは配信できませんでした。"),
    ("errormails/karame.net", "空メールアドレス作成完了", "上記アドレスに空メールを送信すると"),
    # a report whose attached original is EUC-JP labelled ISO-2022-JP
    ("errormails/pdx.ne.jp", "Error Mail", "はメールの受取を停止しているため送信できませんでした。"),
]


@pytest.mark.parametrize(("name", "subject", "sentence"), FML8_CASES, ids=[c[0] for c in FML8_CASES])
def test_fml8_japanese_mail_comes_out_as_japanese(email_corpus: Path, name: str, subject: str, sentence: str) -> None:
    result = sanitize_message((email_corpus / "fmlorg__fml8" / name).read_bytes())
    assert result.report.subject == subject
    assert str(parsed(result)["Subject"]) == subject
    assert sentence in body_only(result)


JAPANESE_MARKERS = re.compile(rb"\x1b\$[@B]|=\?iso-2022-jp\?|charset=\"?(?:shift_jis|euc-jp)", re.IGNORECASE)
# Japanese in 8-bit bytes without (or against) their declaration: found by reading them, not by a marker.
UNDECLARED_JAPANESE = {"umin.ac.jp", "jp-r.ne.jp", "pdx.ne.jp", "e500", "smtp32", "smtpsvc"}


def test_every_fml8_japanese_mail_has_readable_japanese(email_corpus: Path) -> None:
    japanese = [p for p in corpus_files(email_corpus / "fmlorg__fml8")
                if JAPANESE_MARKERS.search(p.read_bytes()) or p.name in UNDECLARED_JAPANESE]
    assert len(japanese) >= 20
    for path in japanese:
        result = sanitize_message(path.read_bytes())
        out = parsed(result)
        text = body_only(result) + " ".join(str(out[name] or "") for name in ("Subject", "From", "To"))
        assert JAPANESE.search(text), path
        assert "\x1b" not in text and "$B" not in text and "\ufffd" not in text, path
