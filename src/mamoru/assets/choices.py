"""Enumerations of the asset register (seed §4(2), §6(2); domain.md §3–4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AssetKind(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment and electronic media (機器・電磁的記録媒体)")
    INFORMATION = "information", _("Information (electronic or paper)")
    SYSTEM_DOCUMENT = "system_document", _("System documents (仕様書・ネットワーク図等)")


class Tier(models.TextChoices):
    MYNUMBER = "mynumber", _("My Number tier (マイナンバー利用事務系)")
    LGWAN = "lgwan", _("LGWAN tier (LGWAN接続系)")
    INTERNET = "internet", _("Internet tier (インターネット接続系)")
    STANDALONE = "standalone", _("Stand-alone or other (独立系・その他)")


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", _("In use")
    DISPOSED = "disposed", _("Disposed")


class Axis(models.TextChoices):
    CONFIDENTIALITY = "confidentiality", _("Confidentiality")
    INTEGRITY = "integrity", _("Integrity")
    AVAILABILITY = "availability", _("Availability")


class HandlingAspect(models.TextChoices):
    """Headings of the handling restrictions (取扱制限); domain.md §3."""

    COPYING = "copying", _("Copying and distribution")
    STORAGE = "storage", _("Storage")
    SENDING = "sending", _("Sending")
    CARRYING = "carrying", _("Carrying out")
    DISPOSAL = "disposal", _("Disposal")
    OUTSIDE = "outside", _("Processing outside the office")
    TERMINALS = "terminals", _("Terminals used")
