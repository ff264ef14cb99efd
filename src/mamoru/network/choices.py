"""Choices of the network inventory; the values are those of the netcheck inventory file."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ZoneTier(models.TextChoices):
    MYNUMBER = "mynumber", _("My Number tier (マイナンバー利用事務系)")
    LGWAN = "lgwan", _("LGWAN tier (LGWAN接続系)")
    INTERNET = "internet", _("Internet tier (インターネット接続系)")
    EXTERNAL = "external", _("Outside the city (the internet, other networks)")
    INDEPENDENT = "independent", _("Stand-alone (独立系)")
    OTHER = "other", _("Other")


class GatewayKind(models.TextChoices):
    MAIL_SANITIZER = "mail_sanitizer", _("Mail sanitizer (無害化メール中継)")
    FILE_SANITIZER = "file_sanitizer", _("File sanitizer (ファイル無害化)")
    SCREEN_TRANSFER = "screen_transfer", _("Screen transfer (画面転送)")
    VIRTUAL_BROWSER = "virtual_browser", _("Virtual browser (仮想ブラウザ)")
    SECURITY_CLOUD = "security_cloud", _("Security cloud proxy (自治体情報セキュリティクラウド)")
    LGWAN_ASP = "lgwan_asp", _("LGWAN-ASP")
    SPECIFIC = "specific_communication", _("Specific communication (特定通信)")
    OTHER = "other", _("Other")


class RulesetFormat(models.TextChoices):
    IPTABLES = "iptables", _("iptables-save output")
    NFTABLES = "nftables", _("nftables JSON (nft -j list ruleset)")
    CSV = "csv", _("CSV policy export (seq,src,dst,proto,dport,action,enabled)")


class DeploymentModel(models.TextChoices):
    ALPHA = "alpha", _("α: business terminals in the LGWAN tier")
    BETA = "beta", _("β: business terminals and groupware in the internet tier")
    BETA_PRIME = "beta_prime", _("β': business systems in the internet tier too")
    ALPHA_PRIME = "alpha_prime", _("α': LGWAN-based, cloud services by local breakout")


class SystemKind(models.TextChoices):
    MY_NUMBER = "my_number", _("My Number business system (住基・税・社会保障・戸籍)")
    BUSINESS = "business", _("Internal business system (財務会計・文書管理 等)")
    GROUPWARE = "groupware", _("Groupware and business terminals' mail")
    INTERNET_MAIL = "internet_mail", _("Internet mail")
    WEB = "web", _("Public web site management")
    OTHER = "other", _("Other")


class RunStatus(models.TextChoices):
    COMPLIANT = "compliant", _("Compliant")
    VIOLATIONS = "violations", _("Violations found")
    FAILED = "failed", _("Could not run")


class PolicyAllow(models.TextChoices):
    NONE = "none", _("Nothing (registered exceptions only)")
    GATEWAYS = "gateways", _("Only to or from registered gateways, on their ports")
    ANY = "any", _("Anything")
