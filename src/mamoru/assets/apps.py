from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "mamoru.assets"
    label = "assets"
    verbose_name = _("Information assets")

    def ready(self) -> None:
        from mamoru.assets import checks  # noqa: F401  (register the ASSET-… policy checks)
        from mamoru.assets.generate import load_demo_register
        from mamoru.assets.services import scheme_presets_load
        from mamoru.core.content import register_default_content
        from mamoru.core.demo import register_demo_content

        register_default_content("classification schemes", scheme_presets_load)
        register_demo_content(load_demo_register)
