from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "mamoru.policy"
    label = "policy"
    verbose_name = _("Policy library")

    def ready(self) -> None:
        from mamoru.core.content import register_default_content
        from mamoru.core.demo import register_demo_content
        from mamoru.policy import checks  # noqa: F401  (register the POLICY-… policy checks)
        from mamoru.policy.defaults import default_documents_load, demo_policy_load

        register_default_content("policy documents", default_documents_load)
        register_demo_content(demo_policy_load)
