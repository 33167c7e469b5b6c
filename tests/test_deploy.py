"""d2lbook deploy against a bare repository in a temporary folder: only changes are committed."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import run_d2lbook


def git(*arguments, cwd):
    return subprocess.run(
        ["git", *arguments], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def built_book(copy_book, tmp_path):
    book = copy_book("tiny")
    html = book / "_build" / "html"
    (html / "chapter").mkdir(parents=True)
    (html / "index.html").write_text("<html>index</html>")
    (html / "chapter" / "page.html").write_text("<html>page</html>")
    (html / ".d2lbook-stamp.json").write_text("{}")
    (book / "_build" / "pkg").mkdir()
    (book / "_build" / "pkg" / "tiny.zip").write_bytes(b"zip")
    (book / "_build" / "pdf" / "default").mkdir(parents=True)
    (book / "_build" / "pdf" / "tiny.pdf").write_bytes(b"%PDF")
    (book / "_build" / "pdf" / "default" / "figure.pdf").write_bytes(b"%PDF work file")
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    with (book / "config.yaml").open("a") as config:
        config.write(f"deploy:\n  repository: {remote}\n  branch: site\n")
    return book, remote


def test_deploy_commits_only_changed_files(built_book):
    book, remote = built_book
    result = run_d2lbook("deploy", cwd=book)
    assert result.returncode == 0, result.stderr
    files = sorted(git("ls-tree", "-r", "--name-only", "site", cwd=remote).split())
    assert files == [".nojekyll", "chapter/page.html", "index.html", "tiny.pdf", "tiny.zip"]

    again = run_d2lbook("deploy", cwd=book)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert git("rev-list", "--count", "site", cwd=remote).strip() == "1"

    (book / "_build" / "html" / "chapter" / "page.html").write_text("<html>new</html>")
    (book / "_build" / "pkg" / "tiny.zip").unlink()
    assert run_d2lbook("deploy", cwd=book).returncode == 0
    changed = git("show", "--name-status", "--format=", "site", cwd=remote).split("\n")
    assert sorted(line for line in changed if line) == ["D\ttiny.zip", "M\tchapter/page.html"]
    assert git("show", "site:chapter/page.html", cwd=remote) == "<html>new</html>"


def test_deploy_without_a_site_or_repository_fails_clearly(copy_book):
    book = copy_book("tiny")
    result = run_d2lbook("deploy", cwd=book)
    assert result.returncode == 1
    assert "deploy.repository" in result.stderr
    result = run_d2lbook("deploy", "--repository", str(book / "none.git"), cwd=book)
    assert result.returncode == 1 and "build html" in result.stderr
