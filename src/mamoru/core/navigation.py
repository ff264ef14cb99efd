"""The main menu. Each item names its URL and the model whose view permission shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    model: str | None = None  # "app_label.ModelName": shown when the user's roles let them view it
    active_prefix: str = ""


NAV: list[NavItem] = [
    NavItem(_("Home"), "core:home"),
    NavItem(_("Organisation"), "core:orgunit_list", "core.OrgUnit", "/org/"),
    NavItem(_("People"), "core:person_list", "core.Person", "/people/"),
    NavItem(_("Role assignments"), "core:assignment_list", "core.RoleAssignment", "/roles/"),
    NavItem(_("Policy library"), "policy:document_list", "policy.PolicyDocument", "/policy/"),
    NavItem(_("Information assets"), "assets:asset_list", "assets.InformationAsset", "/assets/"),
    NavItem(_("Yearly inventory"), "inventory:campaign_list", "assets.InformationAsset", "/assets/inventory/"),
    NavItem(_("Network"), "network:overview", "network.Zone", "/network/"),
    NavItem(_("Information systems"), "network:system_list", "network.InformationSystem", "/network/systems/"),
    NavItem(_("Mail quarantine"), "quarantine:item_list", "quarantine.QuarantineItem", "/quarantine/"),
    NavItem(_("Self-inspection"), "inspection:home", None, "/inspection/"),
    NavItem(_("Audit"), "inspection:plan_list", "inspection.AuditPlan", "/inspection/audit/"),
    NavItem(_("Findings"), "compliance:finding_list", "compliance.Finding", "/compliance/"),
    NavItem(_("Audit trail"), "core:audit_list", "core.AuditEntry", "/audit/"),
    NavItem(_("API tokens"), "core:token_list", None, "/account/tokens/"),
]


_URLS: dict[tuple[str, str], dict[str, str | None]] = {}


def _menu_urls() -> dict[str, str | None]:
    """Each item's URL (None where its app is not installed), reversed once per URLconf and script prefix."""
    from django.conf import settings
    from django.urls import NoReverseMatch, get_script_prefix, get_urlconf

    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    urls = _URLS.get(key)
    if urls is None:
        urls = {}
        for item in NAV:
            try:
                urls[item.url_name] = reverse(item.url_name)
            except NoReverseMatch:
                urls[item.url_name] = None
        _URLS[key] = urls
    return urls


def menu_for(request: Any) -> list[dict[str, Any]]:
    from django.apps import apps

    from mamoru.core.access import may

    items = []
    urls = _menu_urls()
    for item in NAV:
        url = urls[item.url_name]
        if url is None:
            continue
        if item.model:
            model = apps.get_model(item.model)
            if getattr(model, "named_readers", None):  # readable by a list: ask the rows
                if not model._default_manager.restrict(request.user, "view").exists():
                    continue
            elif not may(request.user, "view", model):  # from the grants: no query
                continue
        items.append({"label": item.label, "url": url, "prefix": item.active_prefix or url, "active": False})
    # The item whose prefix is the longest match is the current one (/assets/inventory/ over /assets/).
    matches = [i for i in items
               if request.path == i["url"] or (i["prefix"] != "/" and request.path.startswith(i["prefix"]))]
    if matches:
        max(matches, key=lambda i: len(i["prefix"]))["active"] = True
    return items
