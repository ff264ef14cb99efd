"""Import of the register from Excel/CSV in the browser: check first (dry run), then import.

Stateless by design: the file is not kept between the check and the import; the user uploads the same
(corrected) file again with "import". Both go through mamoru.assets.importer.asset_import, all or nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamoru.assets.importer import asset_import, import_template_xlsx, max_bytes, too_large_message
from mamoru.assets.models import InformationAsset
from mamoru.core.access import may

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel (.xlsx) or CSV file"))
    mode = forms.ChoiceField(label=gettext_lazy("What to do"), initial="check", widget=forms.RadioSelect, choices=[
        ("check", gettext_lazy("Check only (nothing is written)")),
        ("import", gettext_lazy("Import (only if every row is correct)"))])

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(too_large_message(upload.size))
        return upload


def _require_importer(request: HttpRequest) -> None:
    if not may(request.user, "add", InformationAsset):
        raise Http404(_("Not found, or you do not have access to it."))


@login_required
def asset_import_page(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = asset_import(data=upload.read(), filename=upload.name, user=request.user,
                              dry_run=form.cleaned_data["mode"] != "import")
        if result.committed:
            messages.success(request, _("Imported %(rows)s rows: %(created)s new, %(updated)s updated.")
                             % {"rows": result.rows, "created": result.created, "updated": result.updated})
            return redirect("assets:asset_list")
    status = 400 if result is not None and not result.ok else 200
    return render(request, "assets/asset_import.html", {"form": form, "result": result}, status=status)


@login_required
def asset_import_template(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    response = HttpResponse(import_template_xlsx(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="asset-import-template.xlsx"'
    return response
