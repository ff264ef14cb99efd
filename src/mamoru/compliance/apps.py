from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "mamoru.compliance"
    label = "compliance"
    verbose_name = _("Policy checks")

    def ready(self) -> None:
        from mamoru.compliance import checks  # noqa: F401  (register the app's policy checks)
