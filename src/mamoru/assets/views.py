"""Asset register pages (being built)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mamoru.assets.filtersets import InformationAssetFilterSet
from mamoru.assets.models import ClassificationScheme, InformationAsset
from mamoru.core.views import get_restricted, paginate


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    qs = InformationAsset.objects.restrict(request.user, "view").select_related(
        "org_unit", "manager", "confidentiality", "integrity", "availability")
    fs = InformationAssetFilterSet(request.GET, queryset=qs, user=request.user)
    return render(request, "assets/asset_list.html", {"filter": fs, "page": paginate(request, fs.qs)})


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_restricted(InformationAsset, request.user, "view", pk=pk)
    return render(request, "assets/asset_detail.html", {"asset": asset, "rules": asset.effective_rules()})


@login_required
def scheme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scheme = get_restricted(ClassificationScheme, request.user, "view", pk=pk)
    return render(request, "assets/scheme_detail.html", {"scheme": scheme})
