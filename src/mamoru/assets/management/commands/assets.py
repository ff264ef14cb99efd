"""``mamoru assets import|export|template|generate``: the asset register from the command line.

``import FILE [--dry-run] --user USERNAME``  exit 0 imported (or dry run clean), 1 rows rejected (each problem
                                             printed), 2 unreadable/oversized file or unknown user.
``export FILE.xlsx|FILE.csv --user USERNAME`` what that user may export.
``template FILE.xlsx``                        the import template.
``generate --municipality CODE --count N [--seed S]`` benchmark/demo data.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

EXIT_OK, EXIT_REJECTED, EXIT_UNREADABLE = 0, 1, 2


class Command(BaseCommand):
    help = "Import, export and generate information assets."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        p = sub.add_parser("import", help="import an XLSX or CSV file (all or nothing)")
        p.add_argument("file")
        p.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        p.add_argument("--user", required=True, help="the account the import is done as")
        p = sub.add_parser("export", help="export the register to FILE.xlsx or FILE.csv")
        p.add_argument("file")
        p.add_argument("--user", required=True, help="the account the export is done as")
        p = sub.add_parser("template", help="write the import template (XLSX)")
        p.add_argument("file")
        p = sub.add_parser("generate", help="generate realistic assets (demo and benchmarks)")
        p.add_argument("--municipality", required=True, help="municipality code")
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["sub"])(**options)

    def _fail(self, message: str, code: int) -> None:
        self.stderr.write(message)
        sys.exit(code)

    def _user(self, username: str) -> Any:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            self._fail(_("Unknown or inactive user: %(user)s") % {"user": username}, EXIT_UNREADABLE)
        return user

    def do_import(self, *, file: str, dry_run: bool, user: str, **_kw: Any) -> None:
        from mamoru.assets.importer import asset_import, max_bytes, too_large_message
        from mamoru.core.context import acting_as

        account = self._user(user)
        path = Path(file)
        try:
            if path.stat().st_size > max_bytes():  # refused before reading it into memory
                self._fail(too_large_message(path.stat().st_size), EXIT_UNREADABLE)
            data = path.read_bytes()
        except OSError as exc:
            self._fail(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror}, EXIT_UNREADABLE)
        with acting_as(user=account, label="cli"):
            result = asset_import(data=data, filename=path.name, user=account, dry_run=dry_run)
        for w in result.warnings:
            self.stdout.write(str(w))
        if result.error:
            code = EXIT_UNREADABLE if result.error_kind in {"unreadable", "too_large"} else EXIT_REJECTED
            self._fail(result.error, code)
        if result.problems:
            for p in result.problems:
                self.stdout.write(str(p))
            self._fail(_("%(count)s problem(s) in %(rows)s row(s); nothing was written. Correct the file and "
                         "import it again.") % {"count": len(result.problems), "rows": result.rows}, EXIT_REJECTED)
        if dry_run:
            self.stdout.write(_("Dry run: %(rows)s rows are valid (%(created)s new, %(updated)s updated); nothing "
                                "was written.") % {"rows": result.rows, "created": result.created,
                                                   "updated": result.updated})
        else:
            self.stdout.write(_("Imported %(rows)s rows: %(created)s new, %(updated)s updated.")
                              % {"rows": result.rows, "created": result.created, "updated": result.updated})

    def do_export(self, *, file: str, user: str, **_kw: Any) -> None:
        from mamoru.assets.exporter import assets_export
        from mamoru.assets.models import InformationAsset
        from mamoru.core import audit
        from mamoru.core.choices import AuditEvent
        from mamoru.core.context import acting_as

        fmt = Path(file).suffix.lower().lstrip(".")
        if fmt not in {"xlsx", "csv"}:
            raise CommandError(_("The file name must end in .xlsx or .csv."))
        account = self._user(user)
        qs = InformationAsset.objects.restrict(account, "export")
        with acting_as(user=account, label="cli"):
            count = qs.count()
            out = assets_export(queryset=qs, fmt=fmt)
            try:
                with open(file, "wb") as fh:
                    if isinstance(out, bytes):
                        fh.write(out)
                    else:
                        for chunk in out:
                            fh.write(chunk)
            except OSError as exc:
                self._fail(_("Cannot write %(file)s: %(error)s") % {"file": file, "error": exc.strerror},
                           EXIT_UNREADABLE)
            audit.event(AuditEvent.EXPORT, actor=account, object_type="assets.informationasset",
                        object_repr=Path(file).name, details={"format": fmt, "rows": count})
        self.stdout.write(_("Exported %(count)s assets to %(file)s.") % {"count": count, "file": file})

    def do_template(self, *, file: str, **_kw: Any) -> None:
        from mamoru.assets.importer import import_template_xlsx

        try:
            Path(file).write_bytes(import_template_xlsx())
        except OSError as exc:
            self._fail(_("Cannot write %(file)s: %(error)s") % {"file": file, "error": exc.strerror},
                       EXIT_UNREADABLE)
        self.stdout.write(_("Template written to %(file)s.") % {"file": file})

    def do_generate(self, *, municipality: str, count: int, seed: int, **_kw: Any) -> None:
        from mamoru.assets.generate import generate_assets
        from mamoru.core.context import acting_as
        from mamoru.core.models import OrgUnit

        city = OrgUnit.objects.filter(parent__isnull=True, code=municipality).first()
        if city is None:
            self._fail(_("Unknown municipality code: %(code)s") % {"code": municipality}, EXIT_UNREADABLE)
        if count < 0:
            raise CommandError(_("The count must be zero or more."))
        with acting_as(label="cli"):
            created = generate_assets(municipality=city, count=count, seed=seed)
        self.stdout.write(_("Generated %(count)s assets.") % {"count": created})
