"""Classification scheme presets (domain.md §3) and default handling restrictions (取扱制限).

The texts are this project's own wording after the MIC guideline's structure; each city edits them.
Definitions marked (確認要) in domain.md are kept short and editable rather than quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from mamoru.assets.choices import Axis, HandlingAspect

CONF, INTEG, AVAIL = Axis.CONFIDENTIALITY, Axis.INTEGRITY, Axis.AVAILABILITY


@dataclass(frozen=True)
class LevelSpec:
    axis: str
    code: str
    label: str
    definition: str
    rank: int
    base_code: str = ""


INTEGRITY_AVAILABILITY = (
    LevelSpec(INTEG, "2", "完全性2", "改ざん、誤びゅう又は破損により、住民の権利が侵害される又は行政事務の適確な遂行に"
              "支障（軽微なものを除く。）を及ぼすおそれがある情報資産", 2),
    LevelSpec(INTEG, "1", "完全性1", "完全性2以外の情報資産", 1),
    LevelSpec(AVAIL, "2", "可用性2", "滅失、紛失又は当該情報資産が利用不可能であることにより、住民の権利が侵害される又は"
              "行政事務の安定的な遂行に支障（軽微なものを除く。）を及ぼすおそれがある情報資産", 2),
    LevelSpec(AVAIL, "1", "可用性1", "可用性2以外の情報資産", 1),
)

PRESETS: dict[str, tuple[str, str, tuple[LevelSpec, ...]]] = {
    "mic-r5": ("MIC 令和5年以前", "機密性3/2/1、完全性2/1、可用性2/1（令和5年版までのガイドラインの区分）", (
        LevelSpec(CONF, "3", "機密性3", "行政事務で取り扱う情報資産のうち、秘密文書に相当する機密性を要する情報資産", 3),
        LevelSpec(CONF, "2", "機密性2", "行政事務で取り扱う情報資産のうち、秘密文書に相当する機密性は要しないが、"
                  "直ちに一般に公表することを前提としていない情報資産", 2),
        LevelSpec(CONF, "1", "機密性1", "機密性2又は機密性3の情報資産以外の情報資産", 1),
        *INTEGRITY_AVAILABILITY,
    )),
    "mic-r6": ("MIC 令和6年10月", "自治体機密性3A/3B/3C/2/1、完全性2/1、可用性2/1（令和6年10月改定の区分）", (
        LevelSpec(CONF, "3A", "自治体機密性3A", "行政文書の管理に関するガイドラインに定める秘密文書に相当する機密性を要する"
                  "情報資産", 5, "3"),
        LevelSpec(CONF, "3B", "自治体機密性3B", "漏えい等により、個人の権利利益の侵害や行政事務の遂行に重大な支障を及ぼす"
                  "おそれがある情報資産（定義は団体で確認のうえ編集）", 4, "3"),
        LevelSpec(CONF, "3C", "自治体機密性3C", "漏えい等により、個人の権利利益の侵害や行政事務の遂行に支障を及ぼす"
                  "おそれがある情報資産（定義は団体で確認のうえ編集）", 3, "3"),
        LevelSpec(CONF, "2", "自治体機密性2", "直ちに一般に公表することを前提としていない情報資産（定義は団体で確認のうえ編集）", 2),
        LevelSpec(CONF, "1", "自治体機密性1", "公表を前提とした情報資産その他上記以外の情報資産", 1),
        *INTEGRITY_AVAILABILITY,
    )),
}

# Default handling restrictions: (axis, base level) → {aspect: text}, stored on the levels of that base
# (3A/3B/3C all get the "3" rules). An asset's effective restrictions add those of every lower level of
# the axis (InformationAsset.effective_rules), so 機密性3 is handled at least as carefully as 機密性2.
HANDLING_DEFAULTS: list[tuple[str, str, dict[str, str]]] = [
    (CONF, "2", {
        HandlingAspect.COPYING: "必要以上の複製及び配付を禁止する。",
        HandlingAspect.STORAGE: "保管場所を限定し、電磁的記録媒体は施錠可能な場所に保管する。",
        HandlingAspect.SENDING: "暗号化又はパスワードの設定を行い、信頼できる通信回線を使用する。",
        HandlingAspect.CARRYING: "暗号化又はパスワードの設定を行い、運搬中の紛失・盗難を防ぐ措置を講じる。",
        HandlingAspect.DISPOSAL: "情報を復元できないように処置したうえで廃棄する。",
        HandlingAspect.OUTSIDE: "外部で処理する場合は、情報セキュリティ管理者の許可を得て安全管理措置を講じる。",
    }),
    (CONF, "3", {
        HandlingAspect.TERMINALS: "支給以外の端末での作業を禁止する。",
        HandlingAspect.OUTSIDE: "原則として外部での処理を禁止する（CISOが認めた場合を除く）。",
    }),
    (INTEG, "2", {
        HandlingAspect.STORAGE: "バックアップを取得し、必要に応じて電子署名を付す。施錠可能な場所に保管する。",
    }),
    (AVAIL, "2", {
        HandlingAspect.STORAGE: "バックアップを取得し、定められた時間内に復旧できるようにする。施錠可能な場所に保管する。",
    }),
]
