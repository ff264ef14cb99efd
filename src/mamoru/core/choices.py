"""Enumerations of the core app. Labels are English msgids translated by the ja catalogue."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class UnitKind(models.TextChoices):
    MUNICIPALITY = "municipality", _("Municipality")
    DEPARTMENT = "department", _("Department (部局)")
    SECTION = "section", _("Section (課室)")
    TEAM = "team", _("Team (係)")


class ScopeCategory(models.TextChoices):
    """Scope of the basic policy, seed §4."""

    MAYOR = "mayor", _("Mayor's departments (市長部局)")
    WATERWORKS = "waterworks", _("Waterworks department (上下水道部)")
    SCHOOLS = "schools", _("Elementary and junior high schools (financial accounting terminals)")
    ASSEMBLY = "assembly", _("Assembly secretariat (議会事務局)")
    COMMISSIONS = "commissions", _("Administrative commissions (各行政委員会)")
    OUT_OF_SCOPE = "out_of_scope", _("Outside the policy's scope")


class PersonKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    CONTRACTOR = "contractor", _("Contractor worker")
    AUDITOR = "auditor", _("Auditor")


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Add")
    CHANGE = "change", _("Change")
    DELETE = "delete", _("Delete")
    APPROVE = "approve", _("Approve")
    EXPORT = "export", _("Export")


class AuditAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("audit action", "Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    EVENT = "event", _("Event")


class AuditEvent(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOCKED_OUT = "locked_out", _("Locked out")
    LOGOUT = "logout", _("Signed out")
    MFA_ENROLLED = "mfa_enrolled", _("MFA enrolled")
    MFA_FAILED = "mfa_failed", _("MFA code rejected")
    MFA_RESET = "mfa_reset", _("MFA reset")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    RECOVERY_CODES_REPLACED = "recovery_codes_replaced", _("Recovery codes replaced")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    TOKEN_REJECTED = "token_rejected", _("API token rejected")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")
    BULK_GENERATED = "bulk_generated", _("Bulk data generated")
    APPROVAL = "approval", _("Approved")
    REFUSAL = "refusal", _("Refused")
    DOWNLOAD = "download", _("Downloaded")
    GATEWAY_INGEST = "gateway_ingest", _("Mail gateway events recorded")
    QUARANTINE_PURGE = "quarantine_purge", _("Quarantined originals deleted after retention")
    CSRF_FAILURE = "csrf_failure", _("Forged or expired form rejected")
    ACCESS_DENIED = "access_denied", _("Access denied")
    INSPECTION_ASSIGNED = "inspection_assigned", _("Self-inspection assigned")
    INSPECTION_ANSWERS = "inspection_answers", _("Self-inspection answers saved")
    INSPECTION_REMINDED = "inspection_reminded", _("Self-inspection reminders sent")
