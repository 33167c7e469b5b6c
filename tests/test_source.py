"""Tests of d2lbook.source: which files a book has and in which order."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from d2lbook.config import Config, load_config
from d2lbook.errors import ConfigError, MissingResourceWarning, ParseError
from d2lbook.source import BookSources, SourceFile, TocWarning, find_sources

FIXTURES = Path(__file__).parent / "fixtures" / "source"
needs_corpus = pytest.mark.usefixtures("corpus")  # skips outside CI when the corpus is absent


def find_quietly(config: Config) -> BookSources:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingResourceWarning)
        return find_sources(config)


def toc_entries(markdown: Path) -> list[str]:
    """The entries of the toc blocks of a file, read independently of the code under test."""
    blocks = re.findall(
        r"^```toc\n(.*?)^```", markdown.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL
    )
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith(":")
    ]


@pytest.fixture
def corpus_copy(tmp_path: Path, corpus: Path) -> Path:
    book = tmp_path / "book"
    shutil.copytree(corpus, book)
    return book


# --- the real book -------------------------------------------------------------------------------


def test_corpus_follows_its_index_toc_blocks(corpus_copy):
    sources = find_quietly(load_config(corpus_copy))
    paths = [source.path for source in sources.files]
    assert sources.index == "index.md" and paths[0] == "index.md"
    chapters = [entry + ".md" for entry in toc_entries(corpus_copy / "index.md")]
    assert chapters[:2] == ["chapter_preface/index.md", "chapter_notation/index.md"]
    assert [path for path in paths if path in chapters] == chapters
    # Depth-first: each chapter's sections come right after its index, in its toc order.
    for chapter in chapters:
        sections = [
            f"{Path(chapter).parent.as_posix()}/{entry}.md"
            for entry in toc_entries(corpus_copy / chapter)
        ]
        start = paths.index(chapter)
        assert paths[start + 1 : start + 1 + len(sections)] == sections
    assert paths[paths.index("chapter_preliminaries/index.md") + 1] == (
        "chapter_preliminaries/ndarray.md"
    )
    assert paths[-1] == "chapter_references/zreferences.md"
    on_disk = {path.relative_to(corpus_copy).as_posix() for path in corpus_copy.rglob("*.md")}
    assert set(paths) == on_disk and len(paths) == len(on_disk) == 29
    assert {source.kind for source in sources.files} == {"notebook"}


def test_corpus_resources_and_missing_resources(corpus_copy):
    with pytest.warns(MissingResourceWarning) as caught:
        sources = find_sources(load_config(corpus_copy))
    # d2l/ holds the generated library: not missing, the build writes it before copying
    assert sources.resources == ("img", "d2l", "d2l.bib")
    assert sources.missing_resources == ("setup.py", "static/latex_style")
    assert len(caught) == 2
    assert "resource 'setup.py' does not exist" in str(caught[0].message)


def test_corpus_orphans_come_last_and_build_output_is_never_a_source(corpus_copy):
    (corpus_copy / "chapter_preliminaries" / "aaa-orphan.md").write_text("# Orphan\n")
    (corpus_copy / "zz-orphan.md").write_text("# Orphan\n")
    (corpus_copy / "README.md").write_text("# Excluded by the config\n")
    for folder in ("_build/eval", ".venv/lib", ".hidden"):
        (corpus_copy / folder).mkdir(parents=True)
        (corpus_copy / folder / "page.md").write_text("# Not a source\n")
    (corpus_copy / "_build" / "page.md").write_text("# Not a source\n")
    paths = [source.path for source in find_quietly(load_config(corpus_copy)).files]
    assert paths[-3:] == [
        "chapter_references/zreferences.md",
        "chapter_preliminaries/aaa-orphan.md",
        "zz-orphan.md",
    ]
    assert not [path for path in paths if path.startswith(("_build", ".")) or path == "README.md"]


# --- small books ---------------------------------------------------------------------------------


def test_toc_book_order_kinds_and_warnings():
    book = FIXTURES / "toc-book"
    with pytest.warns((TocWarning, MissingResourceWarning)) as caught:
        sources = find_sources(load_config(book))
    assert sources.files == (
        SourceFile("index.md", "notebook"),
        SourceFile("part/index.md", "notebook"),
        SourceFile("part/zebra.md", "notebook"),
        SourceFile("part/apple.md", "notebook"),
        SourceFile("notes/appendix.md", "markdown"),  # listed twice: its first place wins
        SourceFile("notes/loose.md", "markdown"),  # orphans, sorted
        SourceFile("orphan-a.md", "notebook"),
        SourceFile("orphan-b.md", "notebook"),
    )
    assert sources.resources == ("img",)
    assert sources.missing_resources == ("missing.bib",)
    toc_warnings = [str(w.message) for w in caught if issubclass(w.category, TocWarning)]
    assert len(toc_warnings) == 1 and "part/draft.md: in a toc" in toc_warnings[0]


def test_toc_entry_naming_a_missing_file_warns_and_the_rest_is_built():
    """The original left such an entry to Sphinx, which warned and built the rest."""
    book = FIXTURES / "missing-entry"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources = find_sources(load_config(book))  # no config: defaults
    assert [file.path for file in sources.files] == ["index.md", "present.md"]
    toc_warnings = [str(w.message) for w in caught if issubclass(w.category, TocWarning)]
    assert toc_warnings == [
        f"{book / 'index.md'}:7: toc entry 'absent' names a missing "
        "file: absent.md; the entry is left out"
    ]


def test_missing_toc_entry_in_a_chapter_names_the_chapter_and_keeps_its_other_pages(tmp_path):
    (tmp_path / "index.md").write_text("# Home\n\n```toc\npart/index\n```\n")
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "index.md").write_text(
        "# Part\n\n```toc\n:maxdepth: 2\n\ngone\nkept\n```\n"
    )
    (tmp_path / "part" / "kept.md").write_text("# Kept\n")
    with pytest.warns(
        TocWarning,
        match=re.escape(
            f"{tmp_path / 'part' / 'index.md'}:6: toc entry 'gone' names a missing file: "
            "part/gone.md"
        ),
    ):
        sources = find_quietly(Config(root=tmp_path))
    assert [file.path for file in sources.files] == ["index.md", "part/index.md", "part/kept.md"]


def test_toc_entry_outside_the_book_is_refused():
    book = FIXTURES / "outside-entry"
    with pytest.warns(Warning), pytest.raises(ParseError) as caught:
        find_sources(load_config(book))
    assert caught.value.path == str(book / "index.md")
    assert caught.value.line == 4
    assert "points outside the book folder" in caught.value.message


def test_missing_index_is_a_config_error():
    with pytest.warns(Warning), pytest.raises(ConfigError, match="no index page"):
        find_sources(load_config(FIXTURES / "no-index"))


def test_index_and_source_dir_come_from_the_config(tmp_path):
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "config.yaml").write_text("build:\n  source_dir: src\n  index: home\n")
    (tmp_path / "src" / "home.md").write_text("# Home\n\n```toc\nsub/page\n```\n")
    (tmp_path / "src" / "sub" / "page.md").write_text("# Page\n")
    (tmp_path / "stray.md").write_text("# Outside the source folder\n")
    sources = find_sources(load_config(tmp_path))
    assert sources.index == "home.md"
    assert [source.path for source in sources.files] == ["home.md", "sub/page.md"]


def test_toc_fences_in_their_markdown_forms(tmp_path):
    """Tilde and long fences, indented and CRLF tocs count; a toc shown inside another
    fence, or a word like 'protocol', does not."""
    pages = {
        "config.yaml": "",
        "index.md": "# Home\r\n\r\n  ~~~~ toc \r\n:maxdepth: 1\r\n\r\nz\r\n~~~~\r\n",
        "z.md": "# Z\nText right above.\n````toc\ny\n````\n\n````md\n```toc\nc\n```\n````\n",
        "y.md": "# Y\n\nA protocol, not a toc:\n\n```python\ntoc = 1\n```\n",
        "a.md": "# A\n",
        "c.md": "# C\n",
    }
    for name, text in pages.items():
        (tmp_path / name).write_bytes(text.encode())
    paths = [source.path for source in find_quietly(load_config(tmp_path)).files]
    assert paths == ["index.md", "z.md", "y.md", "a.md", "c.md"]  # a and c: orphans
    (tmp_path / "y.md").write_text("# Y\n\n```toc\nc\n```\n")
    paths = [source.path for source in find_quietly(load_config(tmp_path)).files]
    assert paths == ["index.md", "z.md", "y.md", "c.md", "a.md"]


def test_toc_entry_linking_outside_the_book_is_refused(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (tmp_path / "elsewhere.md").write_text("# Elsewhere\n")
    (book / "inside.md").write_text("# Inside\n")
    (book / "link.md").symlink_to(tmp_path / "elsewhere.md")
    (book / "config.yaml").write_text("")
    (book / "index.md").write_text("# Home\n\n```toc\ninside\nlink\n```\n")
    with pytest.raises(ParseError) as caught:
        find_quietly(load_config(book))
    assert (caught.value.line, caught.value.path) == (5, str(book / "index.md"))
    assert "toc entry 'link' points outside the book folder" in caught.value.message
