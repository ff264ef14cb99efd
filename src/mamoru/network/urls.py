from django.urls import path

from mamoru.network import views

app_name = "network"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("profile/", views.profile_edit, name="profile_edit"),
    path("policy/customise/", views.policy_customise, name="policy_customise"),
    path("policy/new/", views.policy_rule_create, name="policy_rule_create"),
    path("policy/<int:pk>/edit/", views.policy_rule_edit, name="policy_rule_edit"),
    path("policy/<int:pk>/delete/", views.policy_rule_delete, name="policy_rule_delete"),
    path("zones/new/", views.zone_create, name="zone_create"),
    path("zones/<int:pk>/edit/", views.zone_edit, name="zone_edit"),
    path("gateways/new/", views.gateway_create, name="gateway_create"),
    path("gateways/<int:pk>/edit/", views.gateway_edit, name="gateway_edit"),
    path("flows/new/", views.flow_create, name="flow_create"),
    path("flows/<int:pk>/edit/", views.flow_edit, name="flow_edit"),
    path("firewalls/new/", views.firewall_create, name="firewall_create"),
    path("firewalls/<int:pk>/", views.firewall_detail, name="firewall_detail"),
    path("firewalls/<int:pk>/edit/", views.firewall_edit, name="firewall_edit"),
    path("firewalls/<int:pk>/upload/", views.firewall_upload, name="firewall_upload"),
    path("rulesets/<int:pk>/download/", views.ruleset_download, name="ruleset_download"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/new/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/pdf/", views.run_pdf, name="run_pdf"),
    path("inventory.yaml", views.inventory_export, name="inventory_export"),
    path("inventory/import/", views.inventory_import, name="inventory_import"),
    path("systems/", views.system_list, name="system_list"),
    path("systems/new/", views.system_create, name="system_create"),
    path("systems/<int:pk>/edit/", views.system_edit, name="system_edit"),
    path("terminals/", views.terminal_list, name="terminal_list"),
    path("terminals/new/", views.terminal_create, name="terminal_create"),
    path("terminals/<int:pk>/edit/", views.terminal_edit, name="terminal_edit"),
]
