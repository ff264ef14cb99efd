from django.urls import path

from mamoru.quarantine import views

app_name = "quarantine"

urlpatterns = [
    path("", views.item_list, name="item_list"),
    path("<int:pk>/", views.item_detail, name="item_detail"),
    path("<int:pk>/release/", views.release_request, name="release_request"),
    path("releases/", views.release_list, name="release_list"),
    path("releases/<int:pk>/decide/", views.release_decide, name="release_decide"),
    path("releases/<int:pk>/download/", views.release_download, name="release_download"),
    path("daily/", views.daily, name="daily"),
    path("settings/", views.settings_edit, name="settings_edit"),
]
