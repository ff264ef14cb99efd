"""Yearly inventory (棚卸し) routes."""

from django.urls import path

from mamoru.assets import views_inventory as views

app_name = "inventory"
urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("start/", views.campaign_start, name="campaign_start"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("confirmations/<int:pk>/confirm/", views.section_confirm, name="section_confirm"),
]
