"""What the sanitizer does with a message: kept headers, output charset, attachment actions per category, limits.

A policy file is YAML (or JSON, by the ``.json`` suffix); every key is optional::

    keep_headers: [From, To, Cc, Date, Subject, Message-ID, In-Reply-To, References]
    defang_urls: false            # hxxp://example[.]com in the text
    output_charset: utf-8         # or iso-2022-jp
    attachments:                  # per category: remove | disarm | hold (a missing category stays "remove")
      pdf: disarm
      office: disarm
      image: remove
      ole: remove
      archive: hold
      other: remove
    limits:
      max_message_bytes: 26214400
      max_parts: 200
      max_depth: 8
      max_decompressed_bytes: 104857600
      max_ratio: 100

Attached messages (message/rfc822) are always sanitized recursively; they have no entry. An unknown key or a bad
value is a ``PolicyError`` whose message names the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

CATEGORIES = ("pdf", "office", "image", "ole", "archive", "other")
ACTIONS = ("remove", "disarm", "hold")
OUTPUT_CHARSETS = ("utf-8", "iso-2022-jp")
DEFAULT_KEEP_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "In-Reply-To", "References")
DEFAULT_ATTACHMENTS: Mapping[str, str] = MappingProxyType(dict.fromkeys(CATEGORIES, "remove"))
# Upper bounds a policy file may ask for: beyond them the limits stop protecting anything.
MAX_DEPTH_CEILING = 64
MAX_PARTS_CEILING = 10_000


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the key at fault (and the file, when read from one)."""


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 25 * 1024 * 1024
    max_parts: int = 200
    max_depth: int = 8  # MIME nesting incl. attached messages
    max_decompressed_bytes: int = 100 * 1024 * 1024  # per archive / OOXML container
    max_ratio: int = 100  # decompressed / compressed

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PolicyError(f"limits.{f.name}: must be a positive whole number, not {value!r}")
        if self.max_depth > MAX_DEPTH_CEILING:
            raise PolicyError(f"limits.max_depth: at most {MAX_DEPTH_CEILING}, not {self.max_depth}")
        if self.max_parts > MAX_PARTS_CEILING:
            raise PolicyError(f"limits.max_parts: at most {MAX_PARTS_CEILING}, not {self.max_parts}")


def _attachments_default() -> Mapping[str, str]:
    return DEFAULT_ATTACHMENTS


@dataclass(frozen=True)
class Policy:
    keep_headers: tuple[str, ...] = DEFAULT_KEEP_HEADERS
    defang_urls: bool = False
    output_charset: str = "utf-8"  # or "iso-2022-jp"
    # per attachment category: "remove" | "disarm" | "hold"; a category left out stays "remove"
    attachments: Mapping[str, str] = field(default_factory=_attachments_default, hash=False)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if isinstance(self.keep_headers, str) or not all(
                isinstance(h, str) and h and _is_header_name(h) for h in self.keep_headers):
            raise PolicyError(f"keep_headers: must be a list of header names, not {self.keep_headers!r}")
        for name in self.keep_headers:
            if is_reserved_header(name):
                raise PolicyError(f"keep_headers: {name} is written by the sanitizer itself and cannot be kept")
        object.__setattr__(self, "keep_headers", tuple(self.keep_headers))
        if not isinstance(self.defang_urls, bool):
            raise PolicyError(f"defang_urls: must be true or false, not {self.defang_urls!r}")
        charset = str(self.output_charset).lower().replace("_", "-")
        if charset not in OUTPUT_CHARSETS:
            raise PolicyError(f"output_charset: must be one of {', '.join(OUTPUT_CHARSETS)}, "
                              f"not {self.output_charset!r}")
        object.__setattr__(self, "output_charset", charset)
        if not isinstance(self.attachments, Mapping):
            raise PolicyError(f"attachments: must be a mapping of category to action, not {self.attachments!r}")
        merged = dict(DEFAULT_ATTACHMENTS)
        for category, action in self.attachments.items():
            if category == "message":
                raise PolicyError("attachments.message: attached messages are always sanitized recursively; "
                                  "remove this key")
            if category not in CATEGORIES:
                raise PolicyError(f"attachments.{category}: unknown category (known: {', '.join(CATEGORIES)})")
            if action not in ACTIONS:
                raise PolicyError(f"attachments.{category}: must be one of {', '.join(ACTIONS)}, not {action!r}")
            merged[category] = action
        object.__setattr__(self, "attachments", MappingProxyType(merged))
        if not isinstance(self.limits, Limits):
            raise PolicyError(f"limits: must be Limits, not {self.limits!r}")

    def action_for(self, category: str) -> str:
        """The configured action for an attachment category ("remove" for anything unknown)."""
        return self.attachments.get(category, "remove")


def is_reserved_header(name: str) -> bool:
    """Headers the sanitizer writes itself (MIME structure, its own stamps): never copied from the original."""
    lname = name.lower()
    return lname.startswith(("content-", "x-mamoru-")) or lname == "mime-version"


def _is_header_name(name: str) -> bool:
    return all(33 <= ord(c) <= 126 and c != ":" for c in name)


def policy_from_dict(data: Any, *, source: str = "policy") -> Policy:
    """Build a policy from parsed YAML/JSON; ``PolicyError`` names ``source`` and the key at fault."""
    if data is None:
        return Policy()
    if not isinstance(data, Mapping):
        raise PolicyError(f"{source}: the top level must be a mapping of settings, not {type(data).__name__}")
    known = {"keep_headers", "defang_urls", "output_charset", "attachments", "limits"}
    for key in data:
        if key not in known:
            raise PolicyError(f"{source}: {key}: unknown key (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {}
    try:
        if "keep_headers" in data:
            headers = data["keep_headers"]
            if not isinstance(headers, list):
                raise PolicyError(f"keep_headers: must be a list of header names, not {headers!r}")
            kwargs["keep_headers"] = tuple(headers)
        if "defang_urls" in data:
            kwargs["defang_urls"] = data["defang_urls"]
        if "output_charset" in data:
            if not isinstance(data["output_charset"], str):
                raise PolicyError(f"output_charset: must be one of {', '.join(OUTPUT_CHARSETS)}, "
                                  f"not {data['output_charset']!r}")
            kwargs["output_charset"] = data["output_charset"]
        if "attachments" in data:
            attachments = data["attachments"]
            if attachments is None:
                attachments = {}
            if not isinstance(attachments, Mapping):
                raise PolicyError(f"attachments: must be a mapping of category to action, not {attachments!r}")
            kwargs["attachments"] = {str(k): v for k, v in attachments.items()}
        if "limits" in data:
            limits = data["limits"] or {}
            if not isinstance(limits, Mapping):
                raise PolicyError(f"limits: must be a mapping, not {limits!r}")
            names = {f.name for f in fields(Limits)}
            for key in limits:
                if key not in names:
                    raise PolicyError(f"limits.{key}: unknown key (known: {', '.join(sorted(names))})")
            kwargs["limits"] = Limits(**{str(k): v for k, v in limits.items()})
        return Policy(**kwargs)
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc}") from None


def load_policy(path: str | Path) -> Policy:
    """Read a YAML or JSON policy file (JSON when the name ends in ``.json``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyError(f"{path}: cannot read the policy file: {reason}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                          f"{' '.join(str(exc).split())}") from None
    return policy_from_dict(data, source=str(path))
