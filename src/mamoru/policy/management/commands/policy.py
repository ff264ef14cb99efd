"""``mamoru policy export|remind``: the policy library from the command line.

``export --document SLUG --format json|yaml|pdf [--output FILE] [--version N] [--municipality CODE]``
    the version in force (or version N) to standard output or FILE; exit 2 when the document is unknown.
``catalogue-export FILE.yaml|FILE.xlsx [--version N] [--municipality CODE]``
    the requirement catalogue of the standards (the version in force, or version N).
``catalogue-import FILE.yaml|FILE.xlsx [--municipality CODE]``
    a city's own catalogue as a new draft of the standards: exit 1 with every problem listed, else 0.
``remind [--every-days N]``
    e-mails everyone whose acknowledgement of a published version is pending (at most once every N days
    per person and version; rows are claimed with a conditional UPDATE, so several hosts may run it).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamoru.core.models import OrgUnit
from mamoru.policy.choices import VersionStatus
from mamoru.policy.exports import FORMATS, version_export
from mamoru.policy.models import Acknowledgement, PolicyDocument, PolicyVersion
from mamoru.policy.selectors import in_force

EXIT_UNKNOWN = 2


class Command(BaseCommand):
    help = "Export policy documents and send acknowledgement reminders."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        p = sub.add_parser("export", help="export a document's version in force")
        p.add_argument("--document", required=True, help="the document's short name, e.g. basic-policy")
        p.add_argument("--format", choices=FORMATS, default="json")
        p.add_argument("--output", help="file to write (default: standard output)")
        p.add_argument("--version", type=int, help="a version number instead of the one in force")
        p.add_argument("--municipality", help="municipality code (needed when there are several)")
        p = sub.add_parser("catalogue-export", help="write the requirement catalogue as YAML or XLSX")
        p.add_argument("file")
        p.add_argument("--version", type=int)
        p.add_argument("--municipality")
        p = sub.add_parser("catalogue-import", help="load a catalogue (YAML or XLSX) as a new draft")
        p.add_argument("file")
        p.add_argument("--municipality")
        p = sub.add_parser("remind", help="e-mail pending acknowledgements")
        p.add_argument("--every-days", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):  # PDFs and e-mails in the site's language
            if options["sub"] == "export":
                self._export(options)
            elif options["sub"] == "catalogue-export":
                self._catalogue_export(options)
            elif options["sub"] == "catalogue-import":
                self._catalogue_import(options)
            else:
                self._remind(options["every_days"])

    def _document(self, options: dict[str, Any], slug: str) -> PolicyDocument:
        cities = OrgUnit.objects.filter(parent__isnull=True)
        if options["municipality"]:
            cities = cities.filter(code=options["municipality"])
        if cities.count() != 1:
            raise CommandError(_("Name the municipality with --municipality CODE."), returncode=EXIT_UNKNOWN)
        document = PolicyDocument.objects.filter(municipality=cities.get(), slug=slug).first()
        if document is None:
            known = ", ".join(PolicyDocument.objects.filter(municipality=cities.get()).values_list("slug", flat=True))
            raise CommandError(_("No document %(slug)s. Known: %(known)s") % {"slug": slug, "known": known},
                               returncode=EXIT_UNKNOWN)
        return document

    def _version(self, document: PolicyDocument, number: int | None) -> PolicyVersion:
        versions = PolicyVersion.objects.filter(document=document)
        version = versions.filter(number=number).first() if number else in_force(versions)
        if version is None:
            raise CommandError(_("The document has no such version."), returncode=EXIT_UNKNOWN)
        return version

    def _catalogue_export(self, options: dict[str, Any]) -> None:
        from mamoru.policy.catalogue import catalogue_export

        fmt = "xlsx" if options["file"].lower().endswith(".xlsx") else "yaml"
        version = self._version(self._document(options, "standards"), options["version"])
        with open(options["file"], "wb") as out:
            out.write(catalogue_export(version, fmt))

    def _catalogue_import(self, options: dict[str, Any]) -> None:
        from mamoru.core.context import acting_as
        from mamoru.policy.catalogue import catalogue_import
        from mamoru.policy.content.loader import CatalogueError

        document = self._document(options, "standards")
        try:
            with open(options["file"], "rb") as src:
                data = src.read()
        except OSError as exc:
            raise CommandError(str(exc), returncode=EXIT_UNKNOWN) from exc
        try:
            with acting_as(label="mamoru policy catalogue-import"):
                version = catalogue_import(document=document, data=data, filename=options["file"], actor=None)
        except CatalogueError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(_("%(n)d problems; nothing was imported.") % {"n": len(exc.problems)},
                               returncode=1) from exc
        self.stdout.write(_("Version %(n)s of the standards was drafted from the file (%(count)d requirements).")
                          % {"n": version.number, "count": version.clause_set.filter(kind="requirement").count()})

    def _export(self, options: dict[str, Any]) -> None:
        version = self._version(self._document(options, options["document"]), options["version"])
        content = version_export(version, options["format"])
        if options["output"]:
            with open(options["output"], "wb") as out:
                out.write(content)
        else:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()

    def _remind(self, every_days: int) -> None:
        now = timezone.now()
        due = Q(reminded_at__isnull=True) | Q(reminded_at__lt=now - dt.timedelta(days=every_days))
        pending = (Acknowledgement.objects.filter(due, acknowledged_at__isnull=True,
                                                  version__status=VersionStatus.PUBLISHED)
                   .exclude(person__email="").select_related("person", "version__document"))
        sent = 0
        for ack in pending.iterator():
            # Claim the row: only one runner sends this reminder.
            if not Acknowledgement.objects.filter(due, pk=ack.pk).update(reminded_at=now):
                continue
            send_mail(
                _("Please acknowledge: %(version)s") % {"version": ack.version},
                _("Please read %(version)s and acknowledge it in Mamoru by %(due)s.")
                % {"version": ack.version, "due": ack.version.acknowledge_by},
                None, [ack.person.email])
            sent += 1
        self.stdout.write(_("%(n)d reminders sent.") % {"n": sent})
