"""Stage 5 — attachments: every leaf the body stage did not read as text, by the policy for its category.

The category comes from ``cdr.classify`` (magic bytes first, never the name alone). "remove" drops the part and
lists it in the footer; "disarm" hands it to ``cdr.disarm`` (disarmed or clean files go out attached, the rest is
removed with the cdr's reason); "hold" holds the whole message. Parts inside attached messages follow the same rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mamoru.sanitize import cdr, texts

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context, Node


def run(ctx: Context) -> None:
    from mamoru.sanitize.pipeline import OutPart

    for leaf in ctx.leaves:
        if leaf.order in ctx.actions:  # read as text, or an alternative not shown
            continue
        data = ctx.payload(leaf)
        category = cdr.classify(data, leaf.filename, leaf.content_type)
        action = ctx.policy.action_for(category)
        if action == "hold":
            ctx.act(leaf, "held", f"policy: hold {category}")
            ctx.hold("policy:hold", f"{category} attachment {leaf.filename or leaf.path}")
            return
        if action != "disarm":
            ctx.act(leaf, "removed", f"policy: remove {category}", reason_ja=texts.REASONS["policy"])
            _category(ctx, leaf, category)
            continue
        try:
            result = cdr.disarm(data, category=category, filename=leaf.filename, content_type=leaf.content_type,
                                limits=ctx.policy.limits)
        except Exception as exc:  # the cdr promises not to raise; if it does, the part goes, the message does not
            ctx.defect(f"internal error: cdr on part {leaf.path}: {type(exc).__name__}")
            ctx.act(leaf, "removed", "unreadable", reason_ja=texts.REASONS["unreadable"])
            _category(ctx, leaf, category)
            continue
        _category(ctx, leaf, category)
        if result.listing:
            ctx.listings[leaf.order] = tuple(result.listing)
        if result.action == "removed" or result.data is None:
            reason = result.reason or "unreadable"
            findings = ", ".join(result.findings)
            ctx.act(leaf, "removed", reason + (f" ({findings})" if findings and findings != reason else ""),
                    reason_ja=texts.REASONS.get(reason, texts.REMOVED_OTHERWISE))
            continue
        filename = result.filename if result.filename is not None else leaf.filename
        if filename != leaf.filename and filename:
            ctx.renamed[leaf.order] = filename
        ctx.out_parts.append(OutPart(filename=filename, content_type=result.content_type or leaf.content_type,
                                     data=result.data))
        if result.action == "disarmed":
            ctx.act(leaf, "disarmed", "; ".join(result.findings) + " removed" if result.findings else "disarmed",
                    reason_ja=texts.DISARMED)
        else:
            ctx.act(leaf, "kept", f"{category}: nothing active found")


def _category(ctx: Context, leaf: Node, category: str) -> None:
    ctx.categories[leaf.order] = category
