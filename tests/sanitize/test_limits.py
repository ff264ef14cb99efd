"""Messages too big, with too many parts or nested too deeply are held (notice to the recipient), never crash."""

from __future__ import annotations

import time

from mamoru.sanitize import Limits, Policy, sanitize_message
from tests.sanitize.mails import b64, headers, message, multipart_message, output_text, parsed, part, word


def nested(levels: int) -> bytes:
    """``levels`` multipart/mixed containers, one inside the other, around a text part."""
    body = b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    for level in range(levels):
        boundary = f"n{level}".encode()
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n" + body
                + b"\r\n--" + boundary + b"--\r\n")
    return headers([("MIME-Version", "1.0")]) + body


def forwarded(times: int) -> bytes:
    """A message forwarded ``times`` times, each as a message/rfc822 attachment of the next."""
    raw = b"From: first@example.jp\r\nSubject: origin\r\n\r\nthe original text\r\n"
    for n in range(times):
        raw = (f"From: fwd{n}@example.jp\r\nSubject: Fwd {n}\r\nMIME-Version: 1.0\r\n"
               f"Content-Type: multipart/mixed; boundary=f{n}\r\n\r\n--f{n}\r\nContent-Type: text/plain\r\n\r\n"
               f"forward {n}\r\n--f{n}\r\nContent-Type: message/rfc822\r\n\r\n").encode() + raw \
            + f"\r\n--f{n}--\r\n".encode()
    return raw


def test_oversized_message_is_held_without_being_parsed() -> None:
    raw = message(b"x" * 5000, subject=word("大きな添付"))
    result = sanitize_message(raw, Policy(limits=Limits(max_message_bytes=4000)))
    report = result.report
    assert report.status == "held" and report.hold_reason == f"limit:size: {len(raw)} > 4000 bytes"
    assert report.parts == () and report.subject == "大きな添付"
    assert report.original_size == len(raw)
    notice = parsed(result)
    assert str(notice["Subject"]) == "[保留] 大きな添付"
    text = output_text(result)
    assert "メッセージのサイズが上限を超えています" in text and report.quarantine_id in text


def test_too_many_parts_is_held() -> None:
    parts = [part(b"t", "text/plain")] + [
        part(b64(b"GIF89a"), "image/gif", "base64", f'attachment; filename="{n}.gif"') for n in range(6)]
    raw = multipart_message("mixed", parts)
    result = sanitize_message(raw, Policy(limits=Limits(max_parts=5)))
    assert result.report.status == "held" and result.report.hold_reason == "limit:parts: 7 > 5 parts"
    assert len(result.report.parts) == 7 and {p.action for p in result.report.parts} == {"held"}
    assert sanitize_message(raw, Policy(limits=Limits(max_parts=7))).report.status == "sanitized"


def test_nesting_depth_is_held_beyond_the_limit_and_sanitized_at_it() -> None:
    assert sanitize_message(nested(8)).report.status == "sanitized"
    deep = sanitize_message(nested(9))
    assert deep.report.status == "held" and deep.report.hold_reason == "limit:depth: 9 > 8 levels"
    assert "入れ子" in output_text(deep)


def test_attached_messages_count_towards_the_depth() -> None:
    ok = sanitize_message(forwarded(3))  # 3 forwards: 3 × (multipart + message part) levels = 6
    assert ok.report.status == "sanitized"
    assert "the original text" in output_text(ok)
    held = sanitize_message(forwarded(5))
    assert held.report.status == "held" and held.report.hold_reason.startswith("limit:depth")


def test_hostile_nesting_is_held_quickly() -> None:
    t0 = time.process_time()
    result = sanitize_message(nested(1500))  # the stdlib parser alone would give up with a RecursionError
    assert time.process_time() - t0 < 1
    assert result.report.status == "held" and result.report.hold_reason.startswith("limit:depth")
    assert not any(d.startswith("internal error") for d in result.report.defects)
    assert parsed(result)["X-Mamoru-Quarantine-Id"] == result.report.quarantine_id


def test_message_nested_in_message_beyond_the_recursion_limit() -> None:
    raw = b"Subject: deep\r\n\r\ninnermost\r\n"
    for _ in range(1200):
        raw = b"Content-Type: message/rfc822\r\n\r\n" + raw
    result = sanitize_message(raw)
    assert result.report.status == "held" and result.report.hold_reason.startswith("limit:depth")
    assert not any(d.startswith("internal error") for d in result.report.defects)
