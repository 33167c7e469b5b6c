"""d2lbook new: a starter book with a CI workflow, which builds html and pdf at once."""

from __future__ import annotations

import pytest
import yaml

from d2lbook.config import load_config
from d2lbook.source import find_sources
from tests.conftest import run_d2lbook


def test_new_writes_a_book_with_chapters_bib_image_and_workflow(tmp_path):
    result = run_d2lbook("new", "my_book", "--title", "My Book", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    book = tmp_path / "my_book"
    config = load_config(book)
    assert (config.project.name, config.project.title) == ("my_book", "My Book")
    paths = [source.path for source in find_sources(config).files]
    assert paths == [
        "index.md",
        "chapters/first_steps.md",
        "chapters/counting.md",
        "chapters/references.md",
    ]
    assert (book / "references.bib").is_file() and (book / "img" / "logo.svg").is_file()
    assert (book / ".gitignore").read_text().startswith("_build/")
    workflow = yaml.safe_load((book / ".github" / "workflows" / "build.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert "actions/cache/restore@v4" in uses and "actions/cache/save@v4" in uses
    cache_steps = [step for step in steps if "actions/cache" in step.get("uses", "")]
    assert all(step["with"]["path"] == "_build/cache" for step in cache_steps)
    runs = [step.get("run", "") for step in steps]
    assert any(run.startswith("d2lbook build html") for run in runs)
    assert any(run.startswith("d2lbook build pdf") for run in runs)
    # the shared cache comes from repository secrets; pull requests only read it
    environment = workflow["jobs"]["build"]["env"]
    assert environment["D2LBOOK_CACHE_URL"] == "${{ secrets.D2LBOOK_CACHE_URL }}"
    assert "secrets.AWS_SECRET_ACCESS_KEY" in environment["AWS_SECRET_ACCESS_KEY"]
    assert "pull_request" in environment["CACHE_PUSH"]
    assert all(
        "build.cache_push=$CACHE_PUSH" in run for run in runs if run.startswith("d2lbook build")
    )
    assert any('"d2lbook[remote]"' in run for run in runs)
    assert sum("upload-artifact" in use for use in uses) == 2


def test_new_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.md").write_text("mine")
    result = run_d2lbook("new", "taken", cwd=tmp_path)
    assert result.returncode == 1
    assert "not empty" in result.stderr
    assert (tmp_path / "taken" / "notes.md").read_text() == "mine"


@pytest.mark.slow
def test_starter_builds_html_without_warnings(tmp_path):
    assert run_d2lbook("new", "book", cwd=tmp_path).returncode == 0
    book = tmp_path / "book"
    result = run_d2lbook(
        "build", "html", "linkcheck", "--set", "build.warning_is_error=true", cwd=book
    )
    assert result.returncode == 0, result.stderr
    page = (book / "_build" / "html" / "chapters" / "counting.html").read_text()
    assert "5050" in page  # executed output of the starter's code


@pytest.mark.slow
def test_starter_builds_pdf(tmp_path, tex):
    assert run_d2lbook("new", "book", cwd=tmp_path).returncode == 0
    book = tmp_path / "book"
    result = run_d2lbook("build", "pdf", cwd=book)
    assert result.returncode == 0, result.stderr
    pdf = book / "_build" / "pdf" / "book.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("command", ["new", "serve", "clear", "deploy"])
def test_publishing_commands_have_help(command):
    from click.testing import CliRunner

    from d2lbook.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output
