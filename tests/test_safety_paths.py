"""The path rule and the build folder (issue 16, items 1 and 2): no path a book names
leads outside it, and the tool deletes or writes only inside its own marked build folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from d2lbook.config import load_config
from d2lbook.errors import BookError
from d2lbook.notebooks import read_chapters
from d2lbook.paths import BUILD_MARKER, PathError, claim_build_folder, require_build_folder
from d2lbook.source import find_sources
from tests.conftest import run_d2lbook


def configure(book: Path, section: str, key: str, value: object) -> None:
    """Set ``section.key`` in the book's config.yaml."""
    path = book / "config.yaml"
    settings = yaml.safe_load(path.read_text()) or {}
    settings.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(settings))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links not followed) with its bytes."""
    files = {}
    for current, _, names in os.walk(folder):
        for name in names:
            path = Path(current, name)
            files[path.relative_to(folder).as_posix()] = (
                b"link:" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            )
    return files


@pytest.fixture
def book_in_a_parent(copy_book, tmp_path):
    """The tiny book in a parent folder that also holds a sibling folder and a file."""
    book = copy_book("tiny")
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling" / "keep.txt").write_text("the user's sibling folder")
    (tmp_path / "notes.txt").write_text("a file in the book's parent")
    return book, tmp_path


def one_error_line(result) -> str:
    """The CLI's only line on stderr, which must be an error, never a traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode != 0, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- item 2: the build folder ------------------------------------------------------------------


@pytest.mark.parametrize(
    "output_dir", [".", "..", "../sibling", "chapter_one", "{parent}", "{home}"]
)
def test_clear_with_a_dangerous_output_dir_changes_nothing(book_in_a_parent, output_dir):
    book, parent = book_in_a_parent
    home = parent / "home"  # the home folder of the child process: the real one is never at risk
    (home / "mine").mkdir(parents=True)
    (home / "mine" / "thesis.tex").write_text("years of work")
    configure(book, "build", "output_dir", output_dir.format(parent=parent, home=home))
    before = snapshot(parent)
    result = run_d2lbook("clear", "--cache", cwd=book, env={"HOME": str(home)})
    line = one_error_line(result)
    assert "build.output_dir" in line or BUILD_MARKER in line
    assert snapshot(parent) == before  # nothing deleted, and no lock file written anywhere


def test_output_dir_root_is_refused_before_any_file_is_written(copy_book):
    book = copy_book("tiny")
    configure(book, "build", "output_dir", "/")
    existed = Path("/.lock").exists()
    result = run_d2lbook("build", "tabcheck", cwd=book)
    assert "build.output_dir" in one_error_line(result)
    assert Path("/.lock").exists() == existed
    with pytest.raises(PathError):
        claim_build_folder(Path("/"))
    with pytest.raises(PathError):
        require_build_folder(Path("/"))


def test_clear_refuses_an_unmarked_folder_holding_user_files(copy_book):
    book = copy_book("tiny")
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "my-notes.txt").write_text("not an output")
    result = run_d2lbook("clear", cwd=book)
    assert BUILD_MARKER in one_error_line(result)
    assert (book / "_build" / "my-notes.txt").read_text() == "not an output"
    assert (book / "_build" / "html").is_dir()


def test_an_older_build_folder_is_taken_over_and_cleared(copy_book):
    book = copy_book("tiny")
    for name in ("cache/ab/entry.json", "html/index.html", "eval_pytorch/x.ipynb", "rst/a.rst"):
        (book / "_build" / name).parent.mkdir(parents=True, exist_ok=True)
        (book / "_build" / name).write_text("x")
    before = snapshot(book / "chapter_one")
    result = run_d2lbook("clear", cwd=book)
    assert result.returncode == 0, result.stderr
    assert (book / "_build" / BUILD_MARKER).is_file()
    assert sorted(p.name for p in (book / "_build").iterdir()) == [
        ".d2lbook-build",
        ".lock",
        "cache",
    ]
    assert snapshot(book / "chapter_one") == before


def test_deletion_needs_the_marker(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    with pytest.raises(PathError, match="not inside a build folder"):
        require_build_folder(folder)
    claim_build_folder(folder)
    assert require_build_folder(folder / "html") == (folder / "html").resolve()


# --- item 1: paths named by the config ---------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("build", "resources", ["img/", "../outside/*"]),
        ("build", "resources", ["../outside/data.txt"]),
        ("build", "dependencies", ["../outside/data.txt"]),
        ("build", "source_dir", ".."),
        ("html", "favicon", "../outside/data.txt"),
        ("html", "logo", "/etc/hostname"),
        ("html", "include_css", ["../outside/data.txt"]),
        ("pdf", "latex_logo", "../outside/data.txt"),
        ("pdf", "bibfile", "../outside/data.txt"),
        ("pdf", "post_latex", "../outside/data.txt"),
        ("library", "version_file", "../outside/version.py"),
        ("library", "tabs", {"default": {"lib_file": "../outside/lib.py"}}),
    ],
)
def test_every_escaping_config_path_is_refused_with_its_key(
    copy_book, tmp_path, section, key, value
):
    book = copy_book("tiny")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "data.txt").write_text("secret")
    configure(book, section, key, value)
    with pytest.raises(PathError) as caught:
        find_sources(load_config(book))
    named = "library.default.lib_file" if key == "tabs" else f"{section}.{key}"
    assert named in caught.value.message
    assert caught.value.path == str(book / "config.yaml")
    if key in ("resources", "tabs"):  # the command line says it in one line as well
        line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
        assert named in line and "outside the book folder" in line


def test_external_paths_let_the_book_read_a_chosen_folder_and_nothing_more(copy_book, tmp_path):
    book = copy_book("tiny")
    shared = tmp_path / "team-data"
    shared.mkdir()
    (shared / "data.csv").write_text("1,2\n")
    (shared / "logo.png").write_bytes(b"png")
    configure(book, "build", "dependencies", ["../team-data/data.csv"])
    configure(book, "build", "external_paths", ["../team-data"])
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text("---\ndependencies: ../../team-data/data.csv\n---\n" + chapter.read_text())
    result = run_d2lbook("build", "tabcheck", cwd=book)
    assert result.returncode == 0, result.stderr
    assert f"may read files from {shared}" in result.stderr
    for key, value in (("html", "logo"), ("library", "version_file")):  # copied or written
        configure(
            book,
            key,
            value,
            "../team-data/logo.png" if value == "logo" else "../team-data/version.py",
        )
        assert f"{key}.{value}" in one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
        configure(book, key, value, "")


def test_a_copied_file_named_with_dots_leading_out_is_refused(copy_book):
    book = copy_book("tiny")
    configure(book, "build", "resources", [f"../{book.name}/img/"])  # inside, but its copy
    with pytest.raises(PathError, match="without '..'"):  # would not be
        load_config(book)


# --- item 1: symbolic links and chapters ------------------------------------------------------


def test_symlinked_chapter_file_outside_the_book_is_refused(copy_book, tmp_path):
    book = copy_book("tiny")
    (tmp_path / "private.md").write_text("# Private\n")
    (book / "chapter_one" / "leak.md").symlink_to(tmp_path / "private.md")
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert "chapter_one/leak.md" in line and "outside the book folder" in line


def test_symlinked_chapter_folder_outside_the_book_is_refused(copy_book, tmp_path):
    book = copy_book("tiny")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "page.md").write_text("# Page\n")
    (book / "chapter_two").symlink_to(tmp_path / "elsewhere")
    configure(book, "build", "notebooks", ["index.md", "chapter_one/*.md", "chapter_two/*.md"])
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert "chapter_two/page.md" in line


def test_symlink_inside_a_resource_folder_leading_out_is_refused(copy_book, tmp_path):
    book = copy_book("tiny")
    (tmp_path / "key").write_text("secret")
    (book / "img" / "key.svg").symlink_to(tmp_path / "key")
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert "build.resources 'img/'" in line and "img/key.svg" in line


def test_symlinks_inside_the_book_pointing_inside_are_fine(copy_book):
    book = copy_book("tiny")
    (book / "img" / "alias.svg").symlink_to(book / "img" / "dots.svg")
    (book / "chapter_one" / "pictures").symlink_to(book / "img")
    with (book / "chapter_one" / "sums.md").open("a") as chapter:
        chapter.write("\n![Dots](pictures/alias.svg)\n")
    sources = find_sources(load_config(book))
    read_chapters(load_config(book), sources)
    assert "img" in sources.resources


# --- item 1: paths named by chapters -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "![secret](../../../../../../../../etc/passwd)",
        "![secret](/../../../../../../../../etc/passwd)",
        '<img src="../../outside/data.txt" alt="x">',
        "```eval_rst\n.. literalinclude:: ../../outside/data.txt\n```",
        "```{figure} ../../outside/data.txt\nA figure\n```",
    ],
)
def test_chapter_image_outside_the_book_is_refused_at_its_line(copy_book, tmp_path, text):
    book = copy_book("tiny")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "data.txt").write_text("secret")
    chapter = book / "chapter_one" / "sums.md"
    lines = chapter.read_text().splitlines()
    chapter.write_text("\n".join([*lines, "", text, ""]))
    offset = next(
        number
        for number, text_line in enumerate(text.splitlines())
        if "outside" in text_line or "etc" in text_line
    )
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert f"chapter_one/sums.md:{len(lines) + 2 + offset}:" in line
    assert "outside the book folder" in line


def test_chapter_images_inside_the_book_and_urls_pass(copy_book):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "sums.md"
    with chapter.open("a") as text:
        text.write(
            "\n![a](../img/dots.svg) ![b](https://example.org/x.png)\n"
            '<img src="data:image/png;base64,AAAA">\n'
        )
    config = load_config(book)
    assert read_chapters(config, find_sources(config))


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("dependencies: ../../outside/data.txt", "outside the book folder"),
        ("dependencies: [../img/dots.svg, missing.csv]", "'missing.csv' does not exist"),
    ],
)
def test_front_matter_dependency_outside_or_missing_names_file_and_line(
    copy_book, tmp_path, front_matter, message
):
    book = copy_book("tiny")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "data.txt").write_text("secret")
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(f"---\ngpus: 0\n{front_matter}\n---\n" + chapter.read_text())
    config = load_config(book)
    with pytest.raises(BookError) as caught:
        read_chapters(config, find_sources(config))
    assert message in caught.value.message
    assert (caught.value.path, caught.value.line) == (str(book / "chapter_one" / "sums.md"), 3)
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert "chapter_one/sums.md:3:" in line


def test_activate_rewrites_only_files_of_the_book(copy_book, tmp_path):
    book = copy_book("tiny")
    outside = tmp_path / "other.md"
    outside.write_text("```{.python .input}\n#@tab pytorch\nx = 1\n```\n")
    before = outside.read_bytes()
    line = one_error_line(run_d2lbook("activate", "all", str(outside), cwd=book))
    assert "outside the book folder" in line
    assert outside.read_bytes() == before


@pytest.mark.parametrize(
    ("names", "ours"),
    [
        ((), True),
        (("eval_pytorch/", "rst_mxnet/", "html/", "d2l-en.zip", ".lock"), True),
        (("pdfs/",), False),
        (("html/", "notes.txt"), False),
        (("cache.txt",), False),
    ],
)
def test_an_unmarked_folder_is_taken_over_only_when_it_holds_build_outputs(tmp_path, names, ours):
    folder = tmp_path / "_build"
    folder.mkdir()
    for name in names:
        (folder / name.rstrip("/")).mkdir() if name.endswith("/") else (folder / name).touch()
    if ours:
        claim_build_folder(folder)
        assert (folder / BUILD_MARKER).is_file()
    else:
        with pytest.raises(PathError, match="files no build wrote"):
            claim_build_folder(folder)
        assert not (folder / BUILD_MARKER).exists()


def test_only_images_markdown_shows_are_checked_not_code_about_them(copy_book):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "sums.md"
    with chapter.open("a") as text:
        text.write(
            "\nWrite `![x](../../../../etc/passwd)` for an image:\n\n"
            "```md\n![x](../../../../etc/passwd)\n```\n\n"
            "    ![x](../../../../etc/passwd)\n"
        )
    config = load_config(book)
    assert read_chapters(config, find_sources(config))


@pytest.mark.parametrize("target", ["index.md", "config.yaml", "chapter_one/sums.md"])
def test_the_library_never_overwrites_a_chapter_or_the_config(copy_book, target):
    book = copy_book("tiny")
    configure(book, "library", "tabs", {"default": {"lib_file": target}})
    before = snapshot(book)
    line = one_error_line(run_d2lbook("build", "lib", cwd=book))
    assert "library.default.lib_file" in line and "overwrite" in line
    assert snapshot(book) == before
