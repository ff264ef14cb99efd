from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "mamoru.network"
    label = "network"
    verbose_name = _("Network and segmentation")

    def ready(self) -> None:
        from mamoru.core.demo import register_demo_content
        from mamoru.network import checks  # noqa: F401  (register the NET-… policy checks)
        from mamoru.network.demo import load_demo_network

        register_demo_content(load_demo_network)
