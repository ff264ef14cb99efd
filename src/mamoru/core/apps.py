from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "mamoru.core"
    label = "core"
    verbose_name = _("Organisation and access")

    def ready(self) -> None:
        # audit, signals: connect receivers; checks: register the policy checks
        from mamoru.core import audit, checks, signals  # noqa: F401
