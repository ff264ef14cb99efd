"""Japanese mail in every charset it really arrives in comes out as readable Japanese text (UTF-8 by default)."""

from __future__ import annotations

import base64
import email
import email.policy

import pytest

from mamoru.sanitize import Policy, sanitize_message
from tests.sanitize.mails import b64, body_only, message, multipart_message, output_text, parsed, part, word

SENTENCE = "明日の会議は午後三時から第二会議室で行います。"


def subject_of(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def test_iso_2022_jp_subject_and_body() -> None:
    raw = message(SENTENCE.encode("iso2022_jp") + b"\r\n", "text/plain; charset=ISO-2022-JP", "7bit",
                  subject=word("会議の資料について"))
    result = sanitize_message(raw)
    assert result.report.subject == "会議の資料について"
    assert SENTENCE in output_text(result)
    assert subject_of(result.message) == "会議の資料について"
    [action] = result.report.parts
    assert (action.action, action.detail) == ("converted", "charset iso-2022-jp to utf-8")
    assert result.report.defects == ()


def test_shift_jis_with_nec_extensions() -> None:
    text = "①申請書を㈱山田商事へ送付してください。ﾃｽﾄ（半角カナ）"
    raw = message(text.encode("cp932"), "text/plain; charset=Shift_JIS", "8bit")
    result = sanitize_message(raw)
    assert text in output_text(result)
    assert result.report.defects == ()  # Shift_JIS read as CP932 is not a correction


def test_euc_jp_body() -> None:
    text = "住民票の写しの交付を請求します。"
    raw = message(b64(text.encode("euc_jp")), "text/plain; charset=EUC-JP", "base64")
    assert text in output_text(sanitize_message(raw))


def test_utf8_html_with_table_and_link_becomes_text() -> None:
    html = ("<html><head><style>.x{color:red}</style><script>alert('秘密')</script></head><body>"
            "<p>精算の内訳です。</p><table><tr><th>項目</th><th>金額</th></tr>"
            "<tr><td>交通費</td><td>1,200円</td></tr><tr><td>宿泊費</td><td>8,000円</td></tr></table>"
            "<p>詳細は<a href=\"https://example.jp/info?id=1\">こちら</a>をご覧ください。</p>"
            "<img src=\"http://tracker.example/pixel.gif\" alt=\"\"></body></html>")
    raw = message(b64(html.encode("utf-8")), "text/html; charset=utf-8", "base64")
    result = sanitize_message(raw)
    text = body_only(result)
    assert "精算の内訳です。" in text
    rows = [line for line in text.splitlines() if "交通費" in line]
    assert len(rows) == 1 and "1,200円" in rows[0]  # a table row stays on one line
    assert "こちら (https://example.jp/info?id=1)" in text
    assert "alert" not in text and "color" not in text and "tracker" not in text and "<" not in text
    assert result.report.parts[0].action == "converted" and result.report.parts[0].detail == "html to text"
    assert "HTML 形式の本文はテキストに変換しました" in output_text(result)


def test_html_charset_from_meta_when_mime_says_nothing() -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head>' \
           "<body><p>お知らせ：①窓口の受付時間が変わります。</p></body></html>"
    raw = message(html.encode("cp932"), "text/html", "8bit")
    assert "お知らせ：①窓口の受付時間が変わります。" in body_only(sanitize_message(raw))


def test_lying_charset_iso_2022_jp_label_on_cp932_bytes() -> None:
    text = "いつもお世話になっております。①の件、承知しました。"
    raw = message(text.encode("cp932"), "text/plain; charset=iso-2022-jp", "7bit")
    result = sanitize_message(raw)
    assert text in output_text(result)
    assert any("does not fit" in d and "shift_jis" in d for d in result.report.defects)


@pytest.mark.parametrize("codec", ["cp932", "euc_jp", "utf-8"])
def test_undeclared_8bit_body(codec: str) -> None:
    text = "件名のないメールです。よろしくお願いいたします。"
    raw = message(text.encode(codec), content_type=None)
    result = sanitize_message(raw)
    assert text in output_text(result)
    if codec != "utf-8":
        assert any("undeclared" in d for d in result.report.defects)


def test_raw_8bit_shift_jis_subject_without_encoded_words() -> None:
    head = b"Subject: " + "【重要】システム停止のお知らせ".encode("cp932") + b"\r\n"
    raw = message(b"body\r\n").replace(b"Subject: test\r\n", head)
    result = sanitize_message(raw)
    assert result.report.subject == "【重要】システム停止のお知らせ"
    assert subject_of(result.message) == "【重要】システム停止のお知らせ"
    assert result.message.split(b"\r\n\r\n", 1)[0].isascii()  # headers go out 7-bit


def test_bare_jis_escape_sequences_in_subject_and_body() -> None:
    subject = "障害報告".encode("iso2022_jp")
    body = "サーバーが停止しました。".encode("iso2022_jp")
    raw = message(body, content_type=None).replace(b"Subject: test", b"Subject: " + subject)
    result = sanitize_message(raw)
    assert result.report.subject == "障害報告"
    assert "サーバーが停止しました。" in output_text(result)


def test_iso_2022_jp_with_cp932_rows_decodes() -> None:
    # What Windows mailers send: ① (NEC row 13, JIS 0x2D21) and 髙 (NEC-selected IBM extension, JIS 0x7C62)
    # inside ISO-2022-JP, which the standard codec rejects.
    body = "受付番号".encode("iso2022_jp") + b"\x1b$B\x2d\x21\x1b(B " + b"\x1b$B\x7c\x62\x1b(B" \
        + "橋さん宛".encode("iso2022_jp")
    raw = message(body, "text/plain; charset=ISO-2022-JP", "7bit")
    assert "受付番号① 髙橋さん宛" in output_text(sanitize_message(raw))


def test_encoded_words_split_inside_a_character_and_mixed_charsets() -> None:
    raw_subject = "お問い合わせ".encode()
    first, second = raw_subject[:4], raw_subject[4:]  # the cut falls inside a UTF-8 sequence
    subject = (f"Re: =?UTF-8?B?{base64.b64encode(first).decode()}?=\r\n =?UTF-8?B?{base64.b64encode(second).decode()}?="
               f" {word('（至急）')}")
    result = sanitize_message(message(b"x\r\n", subject=subject))
    assert result.report.subject == "Re: お問い合わせ（至急）"  # space between encoded words is not text


def test_sender_and_recipients_are_decoded() -> None:
    raw = message(b"x\r\n").replace(b"From: Taro Yamada <taro@example.jp>",
                                    f"From: {word('山田 太郎')} <taro@example.jp>".encode())
    raw = raw.replace(b"To: hanako@example.lg.jp",
                      f"To: {word('佐藤')} <sato@example.lg.jp>, suzuki@example.lg.jp\r\nCc: Kato <kato@example.jp>"
                      .encode())
    result = sanitize_message(raw)
    assert result.report.sender == "山田 太郎 <taro@example.jp>"
    assert result.report.recipients == ("sato@example.lg.jp", "suzuki@example.lg.jp", "kato@example.jp")
    out = parsed(result)
    assert str(out["From"]) == "山田 太郎 <taro@example.jp>"
    assert [a.addr_spec for a in out["To"].addresses] == ["sato@example.lg.jp", "suzuki@example.lg.jp"]


def test_japanese_attachment_names_rfc2231_and_rfc2047() -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    raw = multipart_message("mixed", [
        part("本文です。".encode("iso2022_jp"), "text/plain; charset=ISO-2022-JP", "7bit"),
        part(b64(pdf), "application/pdf", "base64", "attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf"),
        part(b64(b"GIF89a...."), f'image/gif; name="{word("写真.gif")}"', "base64", "attachment"),
    ])
    result = sanitize_message(raw)
    names = [p.filename for p in result.report.parts]
    assert names == [None, "見積書.pdf", "写真.gif"]
    footer = output_text(result)
    assert "[削除] 見積書.pdf" in footer and "[削除] 写真.gif" in footer


def test_iso_2022_jp_output_option() -> None:
    policy = Policy(output_charset="iso-2022-jp")
    raw = message(("①の件：" + SENTENCE).encode("utf-8"), "text/plain; charset=utf-8", "8bit",
                  subject=word("ご連絡", "UTF-8"))
    result = sanitize_message(raw, policy)
    out = parsed(result)
    assert out.get_content_charset() == "iso-2022-jp"
    assert out["Content-Transfer-Encoding"] == "7bit"
    assert result.message.isascii()
    assert ("①の件：" + SENTENCE) in output_text(result)
    assert "=?ISO-2022-JP?B?" in result.message.decode("ascii")
    assert subject_of(result.message) == "ご連絡"


def test_iso_2022_jp_output_falls_back_to_utf8_for_characters_it_cannot_carry() -> None:
    raw = message("絵文字つき 🎉 のお知らせ".encode(), "text/plain; charset=utf-8", "8bit")
    result = sanitize_message(raw, Policy(output_charset="iso-2022-jp"))
    assert "絵文字つき 🎉 のお知らせ" in output_text(result)
    assert parsed(result).get_content_charset() == "utf-8"
    assert any("ISO-2022-JP cannot carry" in d for d in result.report.defects)


def test_undecodable_bytes_are_replaced_not_fatal() -> None:
    raw = message(b"\x82\xa0\xff\xfe\x80 broken " + "正常な部分".encode("cp932"), "text/plain; charset=us-ascii",
                  "8bit")
    result = sanitize_message(raw)
    assert result.report.status == "sanitized"
    assert "正常な部分" in output_text(result)
    assert any("replaced" in d for d in result.report.defects)


def test_unknown_and_bytes_to_bytes_charset_names_are_not_trusted() -> None:
    for name in ("x-klingon", "base64", "rot13", "zlib"):
        raw = message("テスト本文".encode(), f"text/plain; charset={name}", "8bit")
        result = sanitize_message(raw)
        assert "テスト本文" in output_text(result), name


def test_encoded_words_and_raw_names_whose_charset_lies() -> None:
    lying_word = "=?ISO-2022-JP?B?" + base64.b64encode("請求書の送付".encode("cp932")).decode() + "?="
    raw = message(b"x\r\n", subject=lying_word).replace(
        b"From: Taro Yamada", b"From: " + "山田 太郎".encode("cp932"))
    result = sanitize_message(raw)
    assert result.report.subject == "請求書の送付"
    assert result.report.sender == "山田 太郎 <taro@example.jp>"
    assert str(parsed(result)["From"]) == "山田 太郎 <taro@example.jp>"
    assert any("does not fit" in d for d in result.report.defects)
