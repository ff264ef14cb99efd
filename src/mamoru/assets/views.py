"""Asset register pages: thin views that authorise, call a service or selector, and render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mamoru.assets import selectors, services
from mamoru.assets.choices import AssetStatus, HandlingAspect, Tier
from mamoru.assets.counts import cached_count
from mamoru.assets.filtersets import InformationAssetFilterSet
from mamoru.assets.forms import AssetForm, BulkEditForm, DisposeForm, HandlingRulesForm, SchemeSwitchForm
from mamoru.assets.models import ClassificationLevel, ClassificationScheme, InformationAsset
from mamoru.core import audit
from mamoru.core.access import can, may
from mamoru.core.choices import AuditEvent
from mamoru.core.selectors import object_history
from mamoru.core.views import get_restricted, message_form_errors, paginate

NOT_FOUND = gettext_lazy("Not found, or you do not have access to it.")

# (filterset sort value, column label) for the sortable column headers.
SORT_COLUMNS = (
    ("number", gettext_lazy("register number")),
    ("name", gettext_lazy("name")),
    ("org_unit_path", gettext_lazy("section")),
    ("tier", gettext_lazy("tier")),
    ("confidentiality_rank", gettext_lazy("confidentiality")),
    ("last_inventory_on", gettext_lazy("last inventory")),
)


def _sort_headers(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """For each sortable column: the query string that sorts by it (toggling direction) and its state."""
    current = request.GET.get("sort", "")
    base = {k: v for k, v in request.GET.items() if k not in ("sort", "page")}
    headers = {}
    for key, label in SORT_COLUMNS:
        state = "asc" if current == key else "desc" if current == f"-{key}" else ""
        value = f"-{key}" if state == "asc" else key
        headers[key] = {"label": str(label), "state": state, "query": urlencode({**base, "sort": value})}
    return headers


def _register_rows(page: Any, fs: InformationAssetFilterSet) -> list[dict[str, Any]]:
    """The page's rows as plain strings: the template then only looks up dict keys (50 rows rendered
    through model attributes, display methods and per-row translations cost more than the queries).
    Sections and levels are labelled from the filter's choices."""
    assets = selectors.page_rows(page.object_list)
    units = {pk: name for pk, (name, _path) in fs.units.items()}
    units |= selectors.unit_names({a.org_unit_id for a in assets} - units.keys())
    levels = dict(fs.levels)
    wanted = {level for a in assets for level in (a.confidentiality_id, a.integrity_id, a.availability_id)}
    levels |= selectors.level_labels(wanted - levels.keys() - {None})
    tiers = {value: str(label) for value, label in Tier.choices}
    disposed = str(AssetStatus.DISPOSED.label)
    select = _("Select %(number)s")
    url = reverse("assets:asset_detail", args=[0])[:-2]  # "/assets/" + pk + "/"
    rows = []
    for a in assets:
        rows.append({
            "pk": a.pk, "url": f"{url}{a.pk}/", "number": a.number, "name": a.name,
            "disposed": disposed if a.status == AssetStatus.DISPOSED else "",
            "section": units.get(a.org_unit_id, ""), "manager": a.manager__full_name or "—",
            "tier": tiers.get(a.tier, a.tier),
            "levels": [levels.get(level, "—") for level in (a.confidentiality_id, a.integrity_id, a.availability_id)],
            "flag": "my_number" if a.has_my_number else "personal" if a.has_personal_info else "",
            "inventory": a.last_inventory_on.isoformat() if a.last_inventory_on else "—",
            "select": select % {"number": a.number},
        })
    return rows


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    fs = InformationAssetFilterSet(request.GET, queryset=selectors.asset_page(request.user), user=request.user)
    page = paginate(request, fs.qs, count=cached_count)
    can_change = may(request.user, "change", InformationAsset)
    sorts = _sort_headers(request)
    columns = [{"sort": sorts["number"]}, {"sort": sorts["name"]}, {"sort": sorts["org_unit_path"]},
               {"label": _("manager")}, {"sort": sorts["tier"]}, {"sort": sorts["confidentiality_rank"]},
               {"label": _("integrity")}, {"label": _("availability")}, {"label": _("flags")},
               {"sort": sorts["last_inventory_on"]}]
    table = render_to_string("assets/_register_table.html", {
        "rows": _register_rows(page, fs), "columns": columns, "can_change": can_change,
        "t": {"select": _("select"), "my_number": _("My Number"), "personal": _("Personal"),
              "empty": _("No assets match.")}}, using="jinja2")
    ctx = {
        "filter": fs,
        "page": page,
        "table": mark_safe(table),  # noqa: S308 - rendered by Jinja2 with autoescaping
        "can_add": may(request.user, "add", InformationAsset),
        "can_export": may(request.user, "export", InformationAsset),
        "can_change": can_change,
        "query": request.GET.urlencode(),
    }
    return render(request, "assets/asset_list.html", ctx)


@login_required
def asset_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if not may(request.user, "export", InformationAsset):
        raise Http404(NOT_FOUND)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise Http404(NOT_FOUND)
    from mamoru.assets.exporter import assets_export

    fs = InformationAssetFilterSet(request.GET, queryset=selectors.asset_list(request.user, "export"),
                                   user=request.user)
    content = assets_export(queryset=fs.qs, fmt=fmt)
    audit.event(AuditEvent.EXPORT, object_type="assets.informationasset",
                object_repr=_("Information asset register (%(fmt)s)") % {"fmt": fmt.upper()},
                details={"format": fmt, "filters": {k: v for k, v in request.GET.items() if v and k != "format"}})
    types = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    response: HttpResponse | StreamingHttpResponse
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=types[fmt])
    else:  # CSV arrives as an iterator of byte chunks: stream it
        response = StreamingHttpResponse(content, content_type=types[fmt])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="assets-{stamp}.{fmt}"'
    return response


@login_required
def asset_bulk_form(request: HttpRequest) -> HttpResponse:
    """The bulk-edit fields, loaded into the register page when its panel is opened."""
    if not may(request.user, "change", InformationAsset):
        raise Http404(NOT_FOUND)
    return render(request, "assets/_bulk_form.html",
                  {"form": BulkEditForm(user=request.user), "next": request.GET.get("next", "")})


@login_required
@require_POST
def asset_bulk_edit(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "change", InformationAsset):
        raise Http404(NOT_FOUND)
    back = request.POST.get("next", "")
    target = f"{_list_url()}?{back}" if back else _list_url()
    form = BulkEditForm(request.POST, user=request.user)
    if not form.is_valid():
        message_form_errors(request, form)
        return redirect(target)
    ids = set(form.cleaned_data["ids"])
    assets = list(InformationAsset.objects.restrict(request.user, "change").filter(pk__in=ids))
    if len(assets) != len(ids):  # all or nothing
        messages.error(request, _("Nothing was changed: %(n)d of the selected assets are outside what you may "
                                  "change. Select only assets of your own sections.") % {"n": len(ids) - len(assets)})
        return redirect(target)
    try:
        count = services.asset_bulk_update(assets=assets, **form.changes())
    except ValidationError as exc:
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": "; ".join(exc.messages)})
        return redirect(target)
    messages.success(request, _("%(n)d assets updated.") % {"n": count})
    return redirect(target)


def _list_url() -> str:
    from django.urls import reverse

    return reverse("assets:asset_list")


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_restricted(InformationAsset, request.user, "view", pk=pk)
    can_change = can(request.user, "change", asset)
    ctx = {
        "asset": asset,
        "rule_groups": selectors.asset_rules_grouped(asset),
        "history": object_history(request.user, asset)[:20],
        "can_change": can_change,
        "dispose_form": DisposeForm() if can_change and asset.status != "disposed" else None,
    }
    return render(request, "assets/asset_detail.html", ctx)


def _save_asset(request: HttpRequest, asset: InformationAsset | None) -> HttpResponse:
    action = "change" if asset is not None else "add"
    form = AssetForm(request.POST or None, instance=asset, user=request.user, action=action)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if asset is None:
                saved = services.asset_create(**fields)
            else:
                saved = services.asset_update(asset=InformationAsset.objects.get(pk=asset.pk), **fields)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(saved.get_absolute_url())
    title = _("Edit asset") if asset is not None else _("New asset")
    return render(request, "assets/asset_form.html", {"form": form, "title": title, "object": asset})


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def asset_create(request: HttpRequest) -> HttpResponse:
    if not may(request.user, "add", InformationAsset):
        raise Http404(NOT_FOUND)
    return _save_asset(request, None)


@login_required
def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_asset(request, get_restricted(InformationAsset, request.user, "change", pk=pk))


@login_required
def asset_dispose(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_restricted(InformationAsset, request.user, "change", pk=pk)
    form = DisposeForm(request.POST or None, initial={"method": asset.disposal_method})
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_dispose(asset=asset, on=form.cleaned_data["on"], method=form.cleaned_data["method"],
                                   record=form.cleaned_data["record"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The asset is recorded as disposed."))
            return redirect(asset.get_absolute_url())
    return render(request, "assets/asset_dispose.html", {"form": form, "asset": asset})


@login_required
def asset_label(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_restricted(InformationAsset, request.user, "view", pk=pk)
    return render(request, "assets/asset_label.html",
                  {"asset": asset, "rule_groups": selectors.asset_rules_grouped(asset)})


# --- schemes ----------------------------------------------------------------------------------------

@login_required
def scheme_list(request: HttpRequest) -> HttpResponse:
    return render(request, "assets/scheme_list.html", {
        "schemes": selectors.scheme_list(request.user),
        "can_switch": selectors.switch_schemes(request.user).filter(is_active=True).exists(),
    })


@login_required
def scheme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scheme = get_restricted(ClassificationScheme, request.user, "view", pk=pk)
    return render(request, "assets/scheme_detail.html", {
        "scheme": scheme,
        "tables": selectors.scheme_tables(scheme),
        "aspects": HandlingAspect.choices,
        "can_edit": can(request.user, "change", scheme),
    })


@login_required
def handling_edit(request: HttpRequest, pk: int) -> HttpResponse:
    level = get_restricted(ClassificationLevel, request.user, "change", pk=pk)
    form = HandlingRulesForm(request.POST or None, level=level)
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(level.scheme.get_absolute_url())
    return render(request, "assets/handling_edit.html", {"form": form, "level": level})


@login_required
def scheme_switch(request: HttpRequest) -> HttpResponse:
    schemes = selectors.switch_schemes(request.user)
    source = schemes.filter(is_active=True).first()
    if source is None:
        raise Http404(NOT_FOUND)
    data = request.POST if request.method == "POST" else None
    target_id = (data or request.GET).get("target", "")
    target = schemes.filter(municipality_id=source.municipality_id, pk=target_id).exclude(pk=source.pk).first() \
        if str(target_id).isdigit() else None
    form = SchemeSwitchForm(data, source=source, schemes=schemes, target=target)
    plan = None
    if data is not None and target is not None and form.is_valid():
        try:
            if data.get("action") == "apply":
                plan = services.scheme_switch_apply(target=target, mapping=form.mapping(), actor=request.user)
                messages.success(request, _("Switched to %(scheme)s: %(n)d assets re-classified.")
                                 % {"scheme": target.name, "n": len(plan.changes)})
                return redirect(target.get_absolute_url())
            plan = services.scheme_switch_plan(target=target, mapping=form.mapping())
        except ValidationError as exc:
            _add_errors(form, exc)
            plan = None
    return render(request, "assets/scheme_switch.html",
                  {"form": form, "source": source, "target": target, "plan": plan})
