"""Attachments by policy: removed and listed (default), disarmed through the real cdr, or the message held."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pikepdf
from PIL import Image

from mamoru.sanitize import Policy, sanitize_message
from tests.sanitize.mails import b64, body_only, multipart_message, output_text, parsed, part, word

DISARM_ALL = Policy(attachments=dict.fromkeys(("pdf", "office", "image", "ole", "archive", "other"), "disarm"))


def pdf_with_javascript() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('pwned')")))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def zip_of(members: dict[str, bytes], *, encrypted: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(buf.getvalue())
    if encrypted:  # the "encrypted" flag, as PPAP zips carry it (zipfile cannot write encryption)
        for magic, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(magic)
            while at >= 0:
                data[at + offset] |= 1
                at = data.find(magic, at + 4)
    return bytes(data)


def docm() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="xml" ContentType="application/xml"/>'
                    '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    '<Override PartName="/word/document.xml" '
                    'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>')
        zf.writestr("_rels/.rels",
                    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                    '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        zf.writestr("word/document.xml",
                    '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                    '2006/main"><w:body><w:p><w:r><w:t>hi</w:t></w:r></w:p></w:body></w:document>')
        zf.writestr("word/_rels/document.xml.rels",
                    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/'
                    'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
        zf.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return buf.getvalue()


def mail_with(*attachments: tuple[bytes, str, str]) -> bytes:
    parts = [part("添付ファイルを送ります。".encode(), "text/plain; charset=utf-8", "8bit")]
    for data, ctype, name in attachments:
        parts.append(part(b64(data), ctype, "base64", f'attachment; filename="{name}"'))
    return multipart_message("mixed", parts)


def attachments_of(raw_out: bytes) -> list[tuple[str | None, str, bytes]]:
    import email
    import email.policy

    out = email.message_from_bytes(raw_out, policy=email.policy.default)
    found = []
    for item in out.iter_attachments():
        data = item.get_payload(decode=True)
        assert isinstance(data, bytes)
        found.append((item.get_filename(), item.get_content_type(), data))
    return found


def test_default_policy_removes_and_lists_every_attachment() -> None:
    pdf = pdf_with_javascript()
    result = sanitize_message(mail_with((pdf, "application/pdf", "契約書.pdf"), (png(), "image/png", "logo.png")))
    assert result.report.status == "sanitized"
    out = parsed(result)
    assert out.get_content_type() == "text/plain"  # nothing attached: a single text part
    text = output_text(result)
    assert "添付ファイルを送ります。" in text
    assert "[削除] 契約書.pdf" in text and "application/pdf（PDF）" in text
    assert f"SHA-256: {hashlib.sha256(pdf).hexdigest()}" in text
    assert f"{len(pdf):,} バイト" in text and "ポリシーにより削除" in text
    assert f"隔離 ID: {result.report.quarantine_id}" in text
    assert [p.action for p in result.report.parts] == ["kept", "removed", "removed"]
    assert out["X-Mamoru-Sanitized"] == "converted=0; removed=2; disarmed=0; kept=1"


def test_magic_bytes_decide_not_the_name() -> None:
    policy = Policy(attachments={"pdf": "hold"})
    disguised = mail_with((pdf_with_javascript(), "image/jpeg", "photo.jpg"))
    assert sanitize_message(disguised, policy).report.status == "held"


def test_disarmed_pdf_goes_out_attached_without_its_javascript() -> None:
    result = sanitize_message(mail_with((pdf_with_javascript(), "application/pdf", "契約書.pdf")), DISARM_ALL)
    out = parsed(result)
    assert out.get_content_type() == "multipart/mixed"
    [(name, ctype, data)] = attachments_of(result.message)
    assert name == "契約書.pdf" and ctype == "application/pdf"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/OpenAction" not in pdf.Root
    assert b"JavaScript" not in data
    action = result.report.parts[1]
    assert action.action == "disarmed" and "pdf:/JavaScript" in action.detail
    text = output_text(result)
    assert "添付ファイルを送ります。" in text and "[無害化] 契約書.pdf" in text and "危険な要素を取り除きました" in text


def test_macro_document_is_renamed_and_image_re_encoded() -> None:
    result = sanitize_message(mail_with((docm(), "application/vnd.ms-word.document.macroEnabled.12", "報告書.docm"),
                                        (png(), "image/png", "図.png")), DISARM_ALL)
    names = [name for name, _ct, _data in attachments_of(result.message)]
    assert names == ["報告書.docx", "図.png"]
    files = attachments_of(result.message)
    with zipfile.ZipFile(io.BytesIO(files[0][2])) as zf:
        assert not any("vbaProject" in n for n in zf.namelist())
    Image.open(io.BytesIO(files[1][2])).verify()
    text = output_text(result)
    assert "変更後の名前: 報告書.docx" in text
    assert [p.action for p in result.report.parts] == ["kept", "disarmed", "disarmed"]


def test_archive_members_are_listed_and_encrypted_zip_removed() -> None:
    plain_zip = zip_of({"readme.txt": "説明".encode(), "tool.exe": b"MZ\x90\x00"})
    locked_zip = zip_of({"給与明細.xlsx": b"PK\x03\x04"}, encrypted=True)
    result = sanitize_message(mail_with((plain_zip, "application/zip", "files.zip"),
                                        (locked_zip, "application/zip", "locked.zip")), DISARM_ALL)
    text = output_text(result)
    assert "[無害化] files.zip" in text and "中のファイル: readme.txt、tool.exe" in text
    assert "[削除] locked.zip" in text and "暗号化された圧縮ファイル" in text
    locked = result.report.parts[2]
    assert locked.action == "removed" and locked.detail.startswith("encrypted-archive")
    [(_name, _ct, data)] = attachments_of(result.message)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["readme.txt"]


def test_clean_text_file_is_kept_attached() -> None:
    result = sanitize_message(mail_with(("議事録です。".encode(), "text/plain", "議事録.txt")), DISARM_ALL)
    [(name, _ct, data)] = attachments_of(result.message)
    assert name == "議事録.txt" and data == "議事録です。".encode()
    assert result.report.parts[1].action == "kept"
    assert "削除・無害化したファイルはありません。" in output_text(result)


def test_hold_policy_holds_the_whole_message_with_a_notice() -> None:
    raw = mail_with((zip_of({"a.txt": b"a"}), "application/zip", "a.zip"))
    raw = raw.replace(b"Subject: test", b"Subject: " + word("見積のご依頼").encode())
    result = sanitize_message(raw, Policy(attachments={"archive": "hold"}))
    report = result.report
    assert report.status == "held" and report.hold_reason == "policy:hold: archive attachment a.zip"
    assert {p.action for p in report.parts} == {"held"}
    notice = parsed(result)
    assert str(notice["Subject"]) == "[保留] 見積のご依頼"
    assert str(notice["From"]) == "Taro Yamada <taro@example.jp>" and str(notice["To"]) == "hanako@example.lg.jp"
    assert notice["Message-ID"] is None  # the notice is not the message: a later release must not look like a copy
    text = output_text(result)
    assert "保留され" in text and report.quarantine_id in text
    assert "保留の対象となる種類の添付ファイル" in text
    assert "添付ファイルを送ります。" not in body_only(result)  # nothing of the held message's body leaks


def test_inline_image_inside_an_attached_message_follows_the_policy() -> None:
    inner = (b"From: x@example.jp\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
             b"--in\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(png())
             + b"\r\n--in--\r\n")
    raw = multipart_message("mixed", [part(b"outer", "text/plain"), part(inner, "message/rfc822")])
    held = sanitize_message(raw, Policy(attachments={"image": "hold"}))
    assert held.report.status == "held" and "image attachment 2/msg/2" in held.report.hold_reason
    disarmed = sanitize_message(raw, DISARM_ALL)
    assert [(p.path, p.action) for p in disarmed.report.parts] == [
        ("1", "kept"), ("2/msg/1", "kept"), ("2/msg/2", "disarmed")]
