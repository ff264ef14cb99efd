"""無害化 (sanitizing) engine: message bytes → ordered stages → a sanitized text message and a report.

Pure Python, no Django import. ``sanitize_message(raw, policy)`` never raises; the relay stores the original with
the report in quarantine and delivers ``Result.message`` (the sanitized message, or a notice when it is held).
The stages and their order are declared in ``pipeline.STAGES``; attachments are disarmed by ``cdr``.
"""

from mamoru.sanitize.pipeline import quarantine_id_for, sanitize_message
from mamoru.sanitize.policy import Limits, Policy, PolicyError, load_policy
from mamoru.sanitize.report import PartAction, Report, Result

__all__ = ["Limits", "PartAction", "Policy", "PolicyError", "Report", "Result", "load_policy",
           "quarantine_id_for", "sanitize_message"]
