from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "mamoru.quarantine"
    label = "quarantine"
    verbose_name = _("Mail quarantine (無害化)")

    def ready(self) -> None:
        from mamoru.core.demo import register_demo_content
        from mamoru.quarantine import checks  # noqa: F401  (register the MAIL-… policy checks)
        from mamoru.quarantine.demo import load_demo_quarantine

        register_demo_content(load_demo_quarantine)
