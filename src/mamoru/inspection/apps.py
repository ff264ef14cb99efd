from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionConfig(AppConfig):
    name = "mamoru.inspection"
    label = "inspection"
    verbose_name = _("Self-inspection and audit")

    def ready(self) -> None:
        from mamoru.core.demo import register_demo_content
        from mamoru.inspection import checks  # noqa: F401  (register the INSP-… policy checks)
        from mamoru.inspection.demo import load_demo_inspection

        register_demo_content(load_demo_inspection)
