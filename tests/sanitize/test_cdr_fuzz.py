"""Hostile bytes never make classify/disarm raise: random bytes, and truncated or bit-flipped real files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mamoru.sanitize.cdr import CdrResult, classify, disarm
from mamoru.sanitize.policy import Limits

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "active_content"
CATEGORIES = ("pdf", "office", "image", "ole", "archive", "other")
FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SMALL_LIMITS = Limits(max_decompressed_bytes=2_000_000, max_depth=4)


def check(result: CdrResult) -> None:
    assert result.action in ("disarmed", "removed", "kept")
    if result.action == "removed":
        assert result.data is None and result.reason
    else:
        assert isinstance(result.data, bytes)
    assert all(isinstance(finding, str) for finding in result.findings)


def crafted_seeds() -> list[bytes]:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("x"))
    pdf_out = io.BytesIO()
    pdf.save(pdf_out)
    png, gif = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(png, "PNG")
    Image.new("P", (8, 8)).save(gif, "GIF", save_all=True, append_images=[Image.new("P", (8, 8), 1)])
    docx, archive = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
        zf.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'relationships"><Relationship Id="r" Type="x/officeDocument" Target="word/document.xml"/>'
                    '<Relationship Id="e" Type="x/hyperlink" Target="http://a/" TargetMode="External"/>'
                    "</Relationships>")
        zf.writestr("word/document.xml", "<d/>")
        zf.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.pdf", pdf_out.getvalue())
        zf.writestr("b.docm", docx.getvalue())
        zf.writestr("c.txt", "テキスト".encode())
    return [pdf_out.getvalue(), png.getvalue(), gif.getvalue(), docx.getvalue(), archive.getvalue()]


SEEDS = crafted_seeds()


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))):]
    for _ in range(draw(st.integers(0, 8))):
        if data:
            position = draw(st.integers(0, len(data) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


@FUZZ
@given(data=st.binary(max_size=2048), category=st.sampled_from(CATEGORIES),
       name=st.sampled_from([None, "a.pdf", "a.docm", "a.png", "a.zip", "a.txt", "a.csv"]))
def test_random_bytes_never_raise(data: bytes, category: str, name: str | None) -> None:
    assert classify(data, name, None) in CATEGORIES
    check(disarm(data, category=category, filename=name, content_type=None, limits=SMALL_LIMITS))


@pytest.mark.parametrize("prefix", [b"%PDF-1.7\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                                    b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"\xff\xd8\xff"])
def test_magic_followed_by_garbage_never_raises(prefix: bytes) -> None:
    for tail in (b"", b"\0" * 600, bytes(range(256)) * 4, b"\xff" * 1024):
        data = prefix + tail
        category = classify(data, "x", None)
        check(disarm(data, category=category, filename="x", content_type=None, limits=SMALL_LIMITS))


@FUZZ
@given(data=mutated(SEEDS))
def test_mutated_crafted_files_never_raise(data: bytes) -> None:
    category = classify(data, "file.bin", None)
    check(disarm(data, category=category, filename="file.bin", content_type=None, limits=SMALL_LIMITS))


def corpus_seeds() -> list[bytes]:
    if not CORPUS.is_dir():
        return []
    return [path.read_bytes() for path in sorted(CORPUS.rglob("*")) if path.is_file() and
            path.suffix != ".vba" and path.stat().st_size < 120_000]


CORPUS_SEEDS = corpus_seeds()


@pytest.mark.skipif(not CORPUS_SEEDS, reason=f"../shared not available: {CORPUS} is missing, no real files to mutate")
@FUZZ
@given(data=mutated(CORPUS_SEEDS or [b""]), forced=st.sampled_from((None, *CATEGORIES)))
def test_mutated_real_files_never_raise(data: bytes, forced: str | None) -> None:
    category = forced or classify(data, None, None)
    check(disarm(data, category=category, filename=None, content_type=None, limits=SMALL_LIMITS))


@pytest.mark.skipif(not CORPUS_SEEDS, reason=f"../shared not available: {CORPUS} is missing, no real files to cut")
def test_every_real_file_cut_at_many_points_never_raises() -> None:
    for seed in CORPUS_SEEDS:
        for fraction in (0.05, 0.3, 0.6, 0.95):
            data = seed[: int(len(seed) * fraction)]
            check(disarm(data, category=classify(data, None, None), filename=None, content_type=None,
                         limits=SMALL_LIMITS))
