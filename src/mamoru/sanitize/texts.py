"""Every Japanese sentence the sanitizer writes into a message, in one place: the footer of a sanitized message,
the notice of a held one, and the labels of an attached message's header block."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CATEGORY_NAMES = {
    "pdf": "PDF",
    "office": "Office 文書",
    "image": "画像",
    "ole": "旧形式の Office 文書",
    "archive": "圧縮ファイル",
    "other": "その他のファイル",
}
ACTION_LABELS = {"removed": "削除", "disarmed": "無害化", "held": "保留", "kept": "そのまま添付"}

# Why a part was removed (by the code the engine or the cdr gives).
REASONS = {
    "policy": "ポリシーにより削除",
    "alternative": "HTML 版などの別形式の本文（テキスト版を表示しています）",
    "alternative-converted": "別形式の本文（HTML 版をテキストに変換して表示しています）",
    "encrypted-archive": "暗号化された圧縮ファイル（中身を検査できません）",
    "macro-ole": "マクロを含む旧形式の Office 文書",
    "unreadable": "ファイルを読み取れません",
    "type-not-allowed": "許可されていない種類のファイル",
    "limit:ratio": "圧縮率が上限を超えています",
    "limit:size": "展開後のサイズが上限を超えています",
    "limit:depth": "入れ子が深すぎます",
    "limit:count": "含まれるファイルの数が上限を超えています",
    "limit:memory": "処理に必要なメモリが上限を超えています",
    "archive-unsupported": "中身を検査できない形式の圧縮ファイル",
    "csv-formula": "外部プログラムを呼び出す数式を含む CSV",
}
REMOVED_OTHERWISE = "安全のため削除しました"
DISARMED = "危険な要素を取り除きました"

HOLD_REASONS = {
    "limit:size": "メッセージのサイズが上限を超えています",
    "limit:parts": "メッセージを構成するパートの数が上限を超えています",
    "limit:depth": "メッセージの入れ子（転送の重なりなど）が深すぎます",
    "policy:hold": "保留の対象となる種類の添付ファイルが含まれています",
    "internal-error": "処理中に問題が発生したため、安全のため保留しました",
}

HEADER_LABELS = {"from": "差出人", "to": "宛先", "cc": "CC", "date": "日付", "subject": "件名"}
ATTACHED_MESSAGE_START = "---------- 添付されていたメッセージ ----------"
ATTACHED_MESSAGE_END = "---------- 添付されていたメッセージここまで ----------"

RULE = "━" * 30
FOOTER_TITLE = "【無害化処理のお知らせ】"
FOOTER_INTRO = "このメールは受信時に無害化処理され、テキスト形式でお届けしています。"
FOOTER_HTML = "HTML 形式の本文はテキストに変換しました（リンク先の URL は括弧内に表示しています）。"
FOOTER_NOTHING = "削除・無害化したファイルはありません。"
FOOTER_LIST = "次のパートを削除または無害化しました。"
FOOTER_ASK = ("元のメールは隔離保管されています。必要な場合は、Mamoru の「メール隔離」画面で"
              "隔離 ID のメールを開き、隔離解除を依頼してください。")
QUARANTINE_ID = "隔離 ID"
TYPE, SIZE, REASON, RENAMED, MEMBERS = "種類", "サイズ", "理由", "変更後の名前", "中のファイル"
NO_NAME = "（名前なし）"
BYTES = "バイト"

NOTICE_SUBJECT_PREFIX = "[保留] "
NOTICE_INTRO = ("このメールは無害化ゲートウェイで保留され、まだお届けしていません。"
                "元のメールは隔離保管されています。")
NOTICE_ASK = ("受け取りが必要な場合は、Mamoru の「メール隔離」画面で下記の隔離 ID のメールを開き、"
              "隔離解除を依頼してください。")
NOTICE_REASON = "保留の理由"


@dataclass(frozen=True)
class FooterEntry:
    action: str  # "removed" | "disarmed"
    filename: str | None
    content_type: str
    category: str  # a CATEGORY_NAMES key, or "" for body parts
    size: int
    sha256: str
    reason: str  # Japanese, already chosen
    detail: str  # the English code/detail, shown in brackets for the help desk
    renamed: str = ""
    members: tuple[str, ...] = ()


def size_text(size: int) -> str:
    return f"{size:,} {BYTES}"


def footer(entries: Iterable[FooterEntry], quarantine_id: str, *, html_converted: bool) -> str:
    entries = list(entries)
    lines = [RULE, FOOTER_TITLE, FOOTER_INTRO]
    if html_converted:
        lines.append(FOOTER_HTML)
    lines.append("")
    if not entries:
        lines.append(FOOTER_NOTHING)
    else:
        lines.append(FOOTER_LIST)
        for entry in entries:
            kind = CATEGORY_NAMES.get(entry.category, "")
            lines.append(f"・[{ACTION_LABELS.get(entry.action, entry.action)}] {entry.filename or NO_NAME}")
            lines.append(f"    {TYPE}: {entry.content_type}{f'（{kind}）' if kind else ''}"
                         f"　{SIZE}: {size_text(entry.size)}")
            lines.append(f"    SHA-256: {entry.sha256}")
            if entry.renamed:
                lines.append(f"    {RENAMED}: {entry.renamed}")
            lines.append(f"    {REASON}: {entry.reason}" + (f" ({entry.detail})" if entry.detail else ""))
            if entry.members:
                shown = entry.members[:50]
                more = len(entry.members) - len(shown)
                lines.append(f"    {MEMBERS}: " + "、".join(shown) + (f" ほか {more} 件" if more else ""))
    lines += ["", FOOTER_ASK, f"{QUARANTINE_ID}: {quarantine_id}", RULE]
    return "\n".join(lines)


def hold_reason_text(code: str) -> str:
    return HOLD_REASONS.get(code, HOLD_REASONS["internal-error"] if code.startswith("internal") else code)


def notice(*, quarantine_id: str, code: str, reason: str, sender: str, subject: str, date: str) -> str:
    lines = [NOTICE_INTRO, NOTICE_ASK, "",
             f"{QUARANTINE_ID}: {quarantine_id}",
             f"{NOTICE_REASON}: {hold_reason_text(code)}" + (f" ({reason})" if reason else ""),
             f"{HEADER_LABELS['from']}: {sender}",
             f"{HEADER_LABELS['subject']}: {subject}"]
    if date:
        lines.append(f"{HEADER_LABELS['date']}: {date}")
    return "\n".join(lines)
