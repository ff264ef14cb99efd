"""The shape of the output and of the report: alternatives, attached messages, kept headers, paths and hashes."""

from __future__ import annotations

import hashlib
import json

from mamoru.sanitize import Policy, quarantine_id_for, sanitize_message
from tests.sanitize.mails import (
    b64,
    body_only,
    headers,
    message,
    multipart,
    multipart_message,
    output_text,
    parsed,
    part,
    word,
)

PLAIN = "お世話になっております。資料を送付します。"
HTML = "<html><body><p>HTML版の本文です。</p><script>document.cookie</script></body></html>"


def test_alternative_prefers_plain_text_and_lists_the_html_as_removed() -> None:
    raw = multipart_message("alternative", [
        part(b64(PLAIN.encode()), "text/plain; charset=utf-8", "base64"),
        part(b64(HTML.encode()), "text/html; charset=utf-8", "base64"),
    ])
    result = sanitize_message(raw)
    text = output_text(result)
    assert PLAIN in text and "HTML版の本文です" not in text
    plain, html = result.report.parts
    assert (plain.path, plain.action) == ("1", "kept")
    assert (html.path, html.action, html.detail) == ("2", "removed", "alternative not shown (text/plain shown)")
    assert "[削除] （名前なし）" in text and "text/html" in text
    assert result.report.counts() == {"converted": 0, "removed": 1, "disarmed": 0, "kept": 1, "held": 0}
    assert parsed(result)["X-Mamoru-Sanitized"] == "converted=0; removed=1; disarmed=0; kept=1"


def test_empty_plain_alternative_gives_way_to_the_html() -> None:
    raw = multipart_message("alternative", [
        part(b"\r\n  \r\n", "text/plain; charset=utf-8"),
        part(HTML.encode(), "text/html; charset=utf-8", "8bit"),
    ])
    result = sanitize_message(raw)
    assert "HTML版の本文です。" in body_only(result) and "document.cookie" not in body_only(result)
    assert [p.action for p in result.report.parts] == ["removed", "converted"]


def test_html_in_related_with_inline_image_and_a_pdf_next_to_it() -> None:
    related = multipart("related", [
        part(b'<p>\xe5\x9b\xb3\xe3\x82\x92\xe5\x8f\x82\xe7\x85\xa7\xe3\x80\x82<img src="cid:logo"></p>',
             "text/html; charset=utf-8", "8bit"),
        part(b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20), "image/png", "base64", "inline"),
    ], boundary="rel")
    raw = multipart_message("mixed", [
        multipart("alternative", [related], boundary="alt"),
        part(b64(b"%PDF-1.4\n%%EOF\n"), "application/pdf", "base64", 'attachment; filename="a.pdf"'),
    ])
    result = sanitize_message(raw)
    assert "図を参照。" in body_only(result)
    assert [(p.path, p.action) for p in result.report.parts] == [
        ("1.1.1", "converted"), ("1.1.2", "removed"), ("2", "removed")]


def test_attached_message_is_sanitized_recursively() -> None:
    inner = (b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.com>\r\n"
             b"To: sato@example.jp\r\nSubject: " + word("転送元の件名").encode() + b"\r\n"
             b"Date: Mon, 31 Mar 2025 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
             + multipart("mixed", [
                 part("転送された本文です。".encode("iso2022_jp"), "text/plain; charset=ISO-2022-JP", "7bit"),
                 part(b64(b"MZ\x90\x00evil"), "application/octet-stream", "base64",
                      'attachment; filename="setup.exe"'),
             ], boundary="inner"))
    raw = multipart_message("mixed", [
        part("転送します。".encode(), "text/plain; charset=utf-8", "8bit"),
        part(inner, "message/rfc822"),
    ], subject=word("Fwd: 転送"))
    result = sanitize_message(raw)
    text = output_text(result)
    assert "転送します。" in text
    assert "差出人: 山田 <yamada@example.com>" in text and "件名: 転送元の件名" in text
    assert "転送された本文です。" in text
    assert "[削除] setup.exe" in text
    assert [(p.path, p.action) for p in result.report.parts] == [
        ("1", "kept"), ("2/msg/1", "converted"), ("2/msg/2", "removed")]
    assert parsed(result).get_content_type() == "text/plain"


def test_base64_encoded_attached_message_is_decoded_and_read() -> None:
    inner = b"From: a@example.jp\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" \
            + "中身のメッセージ".encode()
    raw = multipart_message("mixed", [part(b"outer\r\n", "text/plain"),
                                      part(b64(inner), "message/rfc822", "base64")])
    result = sanitize_message(raw)
    assert "中身のメッセージ" in output_text(result)
    assert [p.path for p in result.report.parts] == ["1", "2/msg/1"]


def test_every_leaf_has_the_sha256_of_its_decoded_bytes() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    raw = multipart_message("mixed", [part(b"hello\r\n", "text/plain"),
                                      part(b64(pdf), "application/pdf", "base64", 'attachment; filename="x.pdf"')])
    result = sanitize_message(raw)
    text, attachment = result.report.parts
    assert attachment.sha256 == hashlib.sha256(pdf).hexdigest() and attachment.size == len(pdf)
    assert text.sha256 == hashlib.sha256(b"hello\r\n").hexdigest()
    assert attachment.sha256 in output_text(result)
    assert f"{len(pdf):,} バイト" in output_text(result)


def test_only_policy_headers_are_kept_and_stamps_are_added() -> None:
    extra = [("Received", "from evil (evil [203.0.113.9])"), ("Reply-To", "attacker@example.net"),
             ("X-Mailer", "Bulk 1.0"), ("In-Reply-To", "<prev@example.jp>"), ("References", "<prev@example.jp>"),
             ("Cc", "kacho@example.lg.jp"), ("Content-Disposition", "inline")]
    result = sanitize_message(message(b"x\r\n", extra=extra))
    out = parsed(result)
    names = [name.lower() for name in out]
    assert "received" not in names and "reply-to" not in names and "x-mailer" not in names
    assert out["In-Reply-To"] == "<prev@example.jp>" and out["Cc"] == "kacho@example.lg.jp"
    assert out["X-Mamoru-Quarantine-Id"] == result.report.quarantine_id
    assert result.report.quarantine_id == quarantine_id_for(message(b"x\r\n", extra=extra))
    assert out["Content-Type"].content_type == "text/plain"
    assert out.get_content_charset() == "utf-8"

    custom = sanitize_message(message(b"x\r\n", extra=extra), Policy(keep_headers=("From", "Subject", "Reply-To")))
    kept = [name.lower() for name in parsed(custom)]
    assert "reply-to" in kept and "to" not in kept and "date" not in kept


def test_second_from_header_is_dropped() -> None:
    raw = message(b"x\r\n", extra=[("From", "ceo@example.lg.jp")])
    result = sanitize_message(raw)
    out = parsed(result)
    assert out.get_all("From") == ["Taro Yamada <taro@example.jp>"]
    assert any("second From" in d for d in result.report.defects)


def test_quarantine_id_is_deterministic_and_cannot_inject_headers() -> None:
    raw = message(b"x\r\n")
    assert sanitize_message(raw).report.quarantine_id == sanitize_message(raw).report.quarantine_id
    result = sanitize_message(raw, quarantine_id="Q1\r\nBcc: all@example.jp")
    assert b"\r\nBcc:" not in result.message
    assert result.report.quarantine_id in output_text(result)


def test_defanged_urls() -> None:
    body = "申請はこちら http://www.example.com/apply?x=1 または https://evil.example.net/ へ。".encode()
    text = body_only(sanitize_message(message(body, "text/plain; charset=utf-8", "8bit"),
                                      Policy(defang_urls=True)))
    assert "hxxp://www[.]example[.]com/apply?x=1" in text and "hxxps://evil[.]example[.]net/" in text
    assert "http://" not in text
    plain = body_only(sanitize_message(message(body, "text/plain; charset=utf-8", "8bit")))
    assert "http://www.example.com/apply?x=1" in plain


def test_links_show_their_real_target() -> None:
    html = ('<p><a href="https://phish.example.net/login">https://www.city.example.lg.jp/</a> '
            '<a href="https://www.city.example.lg.jp/">https://www.city.example.lg.jp/</a> '
            '<a href="mailto:soumu@example.lg.jp">soumu@example.lg.jp</a></p>')
    text = body_only(sanitize_message(message(html.encode(), "text/html; charset=utf-8", "8bit")))
    assert "https://www.city.example.lg.jp/ (https://phish.example.net/login)" in text
    assert text.count("https://www.city.example.lg.jp/") == 2
    assert "soumu@example.lg.jp" in text and "mailto:" not in text


def test_delivery_report_reads_as_text() -> None:
    status = b"Reporting-MTA: dns; mx.example.jp\r\n\r\nFinal-Recipient: rfc822; nobody@example.jp\r\n" \
             b"Action: failed\r\nStatus: 5.1.1\r\n"
    raw = multipart_message("report; report-type=delivery-status", [
        part(b"Delivery failed.\r\n", "text/plain"),
        part(status, "message/delivery-status"),
    ])
    result = sanitize_message(raw)
    text = body_only(result)
    assert "Delivery failed." in text and "Status: 5.1.1" in text
    assert [p.action for p in result.report.parts] == ["kept", "kept"]


def test_enriched_text_loses_its_markup() -> None:
    raw = message(b"<bold>Important</bold> <<not a tag>\r\n", "text/enriched")
    assert "Important <not a tag>" in body_only(sanitize_message(raw))


def test_bidi_override_in_a_filename_is_made_visible() -> None:
    name = "請求書\u202efdp.exe"
    raw = multipart_message("mixed", [
        part(b"x", "text/plain"),
        part(b64(b"MZ"), "application/octet-stream", "base64", "attachment; filename*=UTF-8''"
             + "".join(f"%{b:02X}" for b in name.encode())),
    ])
    result = sanitize_message(raw)
    assert result.report.parts[1].filename == name
    assert "請求書[U+202E]fdp.exe" in output_text(result)


def test_report_json_is_plain_and_stable() -> None:
    raw = multipart_message("mixed", [part(b"x", "text/plain"),
                                      part(b64(b"GIF89a"), "image/gif", "base64", 'attachment; filename="a.gif"')])
    report = sanitize_message(raw).report
    data = json.loads(json.dumps(report.to_json()))
    assert list(data) == ["quarantine_id", "status", "hold_reason", "original_sha256", "original_size", "subject",
                          "sender", "recipients", "message_id", "counts", "parts", "defects"]
    assert data["status"] == "sanitized" and data["counts"]["removed"] == 1
    assert data["parts"][1] == {"path": "2", "content_type": "image/gif", "filename": "a.gif", "size": 6,
                                "sha256": hashlib.sha256(b"GIF89a").hexdigest(), "action": "removed",
                                "detail": "policy: remove image"}
    assert data["message_id"] == "<test-1@example.jp>"


def test_message_without_body_or_headers() -> None:
    for raw in (b"", b"\r\n", b"Subject: only headers\r\n", headers() + b"\r\n"):
        result = sanitize_message(raw)
        assert result.report.status == "sanitized"
        assert "無害化処理のお知らせ" in output_text(result)
