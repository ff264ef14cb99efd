"""Printable reports (PDF) built from policy data; no Django imports here, callers pass plain values."""

from mamoru.reports.pdf import DEFAULT_LABELS, PdfClause, PdfDocument, render_pdf

__all__ = ["DEFAULT_LABELS", "PdfClause", "PdfDocument", "render_pdf"]
