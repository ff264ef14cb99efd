"""The demo city's mail gateway: a week of sanitized internet mail, one held message and one release request.

The messages go through the real engine and the relay's own store and event code, then through the ingest
service, exactly as mail handled by ``mamoru relay serve`` would.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from django.utils import timezone

from mamoru.core.context import acting_as
from mamoru.core.models import OrgUnit, Person
from mamoru.quarantine.choices import ApproverRole, ReleaseMode
from mamoru.quarantine.models import GatewaySettings, QuarantineItem, spool_dir

DOMAIN = "city.example.lg.jp"

HTML_NEWSLETTER = """<html><head><style>p {color: red}</style><script>track()</script></head><body>
<h1>県からのお知らせ</h1><p>令和8年度 情報セキュリティ研修の日程が決まりました。</p>
<table border="1"><tr><th>日程</th><th>会場</th><th>定員</th></tr>
<tr><td>12月10日</td><td>県庁 第1会議室</td><td>40名</td></tr>
<tr><td>12月17日</td><td>オンライン</td><td>100名</td></tr></table>
<p>申込は<a href="https://www.pref.example.lg.jp/kenshu">こちら</a>から。</p>
<img src="https://tracker.example.com/pixel.gif"></body></html>"""


def _mail(to: str, subject: str, sender: str, text: str | None = None, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Thu, 26 Nov 2026 09:00:00 +0900"
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    return msg


def _pdf_with_javascript() -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                                JS=pikepdf.String("app.alert('demo');")))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _docm() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" ContentType'
                   '="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/vbaProject.'
                   'bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
                   '</Relationships>')
        z.writestr("word/document.xml", '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://'
                   'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>見積書</w:t></w:r>'
                   '</w:p></w:body></w:document>')
        z.writestr("word/_rels/document.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="'
                   'http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="'
                   'http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                   '</Relationships>')
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0demo macro")
    return out.getvalue()


def _encrypted_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("契約書.pdf", b"%PDF-1.4 demo")
    data = bytearray(out.getvalue())
    # Set the "encrypted" flag in the local and central headers, as a PPAP zip has it.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x01
    return bytes(data)


def demo_messages(recipients: dict[str, str]) -> list[tuple[bytes, list[str], int]]:
    """(raw message, recipients, days ago) for a week of the demo city's internet mail."""
    out: list[tuple[bytes, list[str], int]] = []
    news = _mail(recipients["joho"], "【県】情報セキュリティ研修のご案内", "県 情報政策課 <info@pref.example.lg.jp>",
                 html=HTML_NEWSLETTER)
    out.append((news.as_bytes(), [recipients["joho"], recipients["shimin-ka"]], 0))
    invoice = _mail(recipients["zeimu"], "請求書の送付について", "経理担当 <billing@vendor.example.co.jp>",
                    text="いつもお世話になっております。\n11月分の請求書を添付いたします。")
    invoice.add_attachment(_pdf_with_javascript(), maintype="application", subtype="pdf", filename="請求書_11月.pdf")
    out.append((invoice.as_bytes(), [recipients["zeimu"]], 0))
    quote = _mail(recipients["kodomo"], "お見積りの件", "営業部 <sales@vendor.example.co.jp>",
                  text="お見積書をお送りします。マクロを有効にしてご覧ください。")
    quote.add_attachment(_docm(), maintype="application", subtype="vnd.ms-word.document.macroEnabled.12",
                         filename="見積書.docm")
    out.append((quote.as_bytes(), [recipients["kodomo"]], 1))
    ppap = _mail(recipients["suido-ka"], "契約書（パスワードは別送します）", "工事会社 <info@koji.example.co.jp>",
                 text="契約書を暗号化ZIPでお送りします。パスワードは別メールでお送りします。")
    ppap.add_attachment(_encrypted_zip(), maintype="application", subtype="zip", filename="契約書.zip")
    out.append((ppap.as_bytes(), [recipients["suido-ka"]], 2))
    flood = _mail(recipients["shimin-ka"], "ご確認ください", "unknown <x@spam.example.net>",
                  text="添付をご確認ください。")
    for i in range(260):  # more parts than the gateway's limit: the whole message is held
        flood.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"part{i}.bin")
    out.append((flood.as_bytes(), [recipients["shimin-ka"]], 3))
    for day in range(1, 7):
        for n in range(day % 3 + 2):
            plain = _mail(recipients["joho"], f"会議資料の送付（第{day}-{n}回）", "事務局 <office@kyogikai.example.jp>",
                          text="会議資料の件、よろしくお願いいたします。")
            out.append((plain.as_bytes(), [recipients["joho"]], day))
    return out


def load_demo_quarantine(city: OrgUnit) -> None:
    if GatewaySettings.objects.filter(municipality=city).exists():
        return
    from mamoru.quarantine import services
    from mamoru.relay.events import emit, make_event
    from mamoru.relay.quarantine import QuarantineStore
    from mamoru.sanitize import sanitize_message

    spool = Path(spool_dir())
    with acting_as(label="demo"):
        GatewaySettings.objects.create(municipality=city, domains=DOMAIN, approver_role=ApproverRole.SECTION_MANAGER,
                                       release_mode=ReleaseMode.DELIVER, retention_days=90)
        people = {p.org_unit.code: p.email for p in Person.objects.filter(
            org_unit__path__startswith=city.path, user__username__startswith="staff-").select_related("org_unit")}
        if not {"joho", "shimin-ka", "zeimu", "kodomo", "suido-ka"} <= set(people):
            return
        store = QuarantineStore(spool / "quarantine")
        now = timezone.now()
        for i, (raw, rcpts, days_ago) in enumerate(demo_messages(people)):
            result = sanitize_message(raw)
            sha = store.put(raw)
            spool_id = f"demo-{i:04d}"
            at = (now - dt.timedelta(days=days_ago, minutes=7 * i)).astimezone(dt.UTC).isoformat()
            processed = make_event("processed", spool_id=spool_id, mail_from="sender@example.net", rcpt_tos=rcpts,
                                   quarantine_id=result.report.quarantine_id, original_sha256=sha,
                                   report=result.report.to_json())
            processed["at"] = at
            emit(spool, processed)
            delivered = make_event("delivered", spool_id=spool_id, mail_from="sender@example.net", rcpt_tos=rcpts,
                                   smtp_code=250, smtp_reply="2.0.0 Ok: queued", attempt=1)
            delivered["at"] = at
            emit(spool, delivered)
        services.events_ingest(spool=spool)
        invoice = QuarantineItem.objects.filter(municipality=city, subject="請求書の送付について").first()
        if invoice is not None and invoice.recipient is not None and invoice.recipient.user is not None:
            pdf = next((p for p in invoice.releasable_parts() if p.get("filename") == "請求書_11月.pdf"), None)
            services.release_request_create(item=invoice, user=invoice.recipient.user,
                                            part_path=str(pdf["path"]) if pdf else "",
                                            reason="取引先からの請求書の原本を支払い処理に使うため")
