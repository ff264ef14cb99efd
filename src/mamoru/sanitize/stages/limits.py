"""Stage 3 — limits: a message too big, with too many parts or nested too deeply is held, not sanitized.

Sizes are the raw message bytes; parts count every MIME entity below the top level (containers included);
depth counts the containers above an entity, an attached message adding two (its part and its own root).
Nesting far beyond the limit is caught before the parse (``parse.boundary_nesting``), since the parser's cost
grows with lines × depth.
Archive and container limits (decompressed size, ratio) are the cdr's business, per attachment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context


def run(ctx: Context) -> None:
    limits = ctx.policy.limits
    if ctx.parse_failure == "size":
        ctx.hold("limit:size", f"{len(ctx.raw)} > {limits.max_message_bytes} bytes")
    elif ctx.parse_failure == "depth":
        ctx.hold("limit:depth", f"nesting far beyond {limits.max_depth} levels (not parsed)")
    elif ctx.entities > limits.max_parts:
        ctx.hold("limit:parts", f"{ctx.entities} > {limits.max_parts} parts")
    elif ctx.max_depth > limits.max_depth:
        ctx.hold("limit:depth", f"{ctx.max_depth} > {limits.max_depth} levels")
