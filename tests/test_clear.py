"""d2lbook clear removes build outputs and keeps the execution cache unless --cache."""

from __future__ import annotations

from d2lbook.paths import BUILD_MARKER
from tests.conftest import run_d2lbook


def make_outputs(book):
    for name in ("cache/ab/entry.json", "html/index.html", "eval/default/x.ipynb", "pkg/a.zip"):
        path = book / "_build" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_clear_keeps_the_cache(copy_book):
    book = copy_book("tiny")
    make_outputs(book)
    result = run_d2lbook("clear", cwd=book)
    assert result.returncode == 0, result.stderr
    kept = (".lock", BUILD_MARKER)
    left = sorted(p.name for p in (book / "_build").iterdir() if p.name not in kept)
    assert left == ["cache"]
    assert (book / "_build" / "cache" / "ab" / "entry.json").is_file()
    assert (book / "chapter_one" / "sums.md").is_file()


def test_clear_with_cache_removes_everything(copy_book):
    book = copy_book("tiny")
    make_outputs(book)
    assert run_d2lbook("clear", "--cache", cwd=book).returncode == 0
    kept = (".lock", BUILD_MARKER)
    assert [p.name for p in (book / "_build").iterdir() if p.name not in kept] == []
