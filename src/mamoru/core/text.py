"""Text normalisation for search and import: full/half width (NFKC), kana, case."""

from __future__ import annotations

import unicodedata

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def normalize(text: str) -> str:
    """NFKC (full-width digits/letters → half width, half-width kana → full width), katakana → hiragana,
    lower case, runs of white space → one space. Used on both the stored search text and the query."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_KATAKANA_TO_HIRAGANA).lower()
    return " ".join(text.split())
