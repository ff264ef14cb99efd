"""Test messages: a Japanese HTML mail with a PDF that runs JavaScript when opened."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import pikepdf


def pdf_with_javascript() -> bytes:
    import io

    pdf = pikepdf.new()
    pdf.add_blank_page()
    action = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x');"))
    pdf.Root.OpenAction = pdf.make_indirect(action)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def invoice_mail(to: str, *, subject: str = "請求書の送付について") -> bytes:
    msg = EmailMessage()
    msg["From"] = "経理担当 <billing@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<invoice-1@example.com>"
    msg.set_content("請求書を添付いたします。ご確認ください。")
    msg.add_alternative("<html><body><p>請求書を<b>添付</b>いたします。</p><script>alert(1)</script></body></html>",
                        subtype="html")
    msg.add_attachment(pdf_with_javascript(), maintype="application", subtype="pdf", filename="請求書.pdf")
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as an MTA sends it
