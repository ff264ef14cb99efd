"""One original part of a message, by the path the report gives it: what a released attachment is made of."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from mamoru.sanitize.policy import Policy


def extract_part(raw: bytes, path: str) -> tuple[bytes, str | None, str] | None:
    """(decoded bytes, file name, content type) of the leaf part at ``path`` (e.g. "2", "1.2", "3/msg/1"),
    parsed exactly as the sanitizer parsed it; None when there is no such part."""
    from mamoru.sanitize.pipeline import Context
    from mamoru.sanitize.stages import parse

    policy = Policy()
    policy = replace(policy, limits=replace(policy.limits, max_message_bytes=max(len(raw), 1)))
    ctx = Context(raw=bytes(raw), policy=policy, quarantine_id="", original_sha256=hashlib.sha256(raw).hexdigest())
    parse.run(ctx)
    node = next((leaf for leaf in ctx.leaves if leaf.path == path), None)
    if node is None:
        return None
    return ctx.payload(node), node.filename, node.content_type
