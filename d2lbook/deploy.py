"""Publish the built site, PDFs and packages to a branch of a git repository.

``deploy(config)`` clones ``deploy.branch`` of ``deploy.repository`` (URL or path) into a
temporary folder, makes its files equal the build's (``html/`` at the root, PDFs and zips
beside it), commits when something changed and pushes. git runs as a subprocess with
``cwd=``; the author is passed with ``-c``, never written to any git config.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from d2lbook.config import Config
from d2lbook.errors import BookError
from d2lbook.files import copy_if_changed

AUTHOR = ("-c", "user.name=d2lbook", "-c", "user.email=d2lbook@localhost")
KEPT = {".git", "CNAME"}
"""Files of the branch a deploy never removes."""


class DeployError(BookError):
    """Publishing failed: git refused, or there is nothing built to publish."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did."""

    branch: str
    """The branch published to."""
    changed: tuple[str, ...]
    """Paths added, modified or removed on the branch, relative to its root."""
    commit: str | None
    """The new commit, or None when nothing changed."""


def run_git(arguments: list[str], cwd: Path) -> str:
    """Run git; a failure is a ``DeployError`` with git's message."""
    process = subprocess.run(["git", *AUTHOR, *arguments], cwd=cwd, capture_output=True,
                             text=True, check=False)
    if process.returncode != 0:
        raise DeployError(f"git {' '.join(arguments)} failed: "
                          f"{(process.stderr or process.stdout).strip()}", cwd)
    return process.stdout


def published_files(config: Config) -> dict[str, Path]:
    """Branch path -> built file: the site at the root, PDFs and packages beside it."""
    html = config.output_dir / "html"
    if not (html / "index.html").is_file():
        raise DeployError("no built site to publish; run 'd2lbook build html' first", html)
    files = {path.relative_to(html).as_posix(): path for path in sorted(html.rglob("*"))
             if path.is_file() and not path.name.startswith(".d2lbook")
             and ".doctrees" not in path.parts}
    for folder, suffix in (("pdf", ".pdf"), ("pkg", ".zip")):  # not the LaTeX work folders
        for path in sorted((config.output_dir / folder).glob(f"*{suffix}")):
            files.setdefault(path.name, path)
    files.setdefault(".nojekyll", Path())  # GitHub Pages: serve _static/ and friends
    return files


def checkout_branch(repository: str, branch: str, folder: Path) -> None:
    """Clone ``branch`` into ``folder``, or start it empty when the repository lacks it."""
    heads = run_git(["ls-remote", "--heads", repository, branch], folder.parent)
    if heads.strip():
        run_git(["clone", "--quiet", "--depth", "1", "--branch", branch, repository,
                 str(folder)], folder.parent)
        return
    folder.mkdir()
    run_git(["init", "--quiet"], folder)
    run_git(["checkout", "--quiet", "--orphan", branch], folder)
    run_git(["remote", "add", "origin", repository], folder)


def sync_files(files: dict[str, Path], folder: Path) -> None:
    """Make ``folder`` hold exactly ``files`` (plus ``KEPT``), touching only what differs."""
    for stale in sorted(folder.rglob("*"), reverse=True):
        relative = stale.relative_to(folder)
        if relative.parts[0] in KEPT or relative.as_posix() in files:
            continue
        if stale.is_dir():
            if not any(stale.iterdir()):
                stale.rmdir()
        else:
            stale.unlink()
    for name, source in files.items():
        if source == Path():
            (folder / name).touch()
        else:
            copy_if_changed(source, folder / name)


def deploy(config: Config, repository: str | None = None, branch: str | None = None,
           message: str = "Publish the book") -> DeployResult:
    """Publish the build to ``branch`` of ``repository`` (defaults from ``deploy``)."""
    repository = repository or config.deploy.repository
    branch = branch or config.deploy.branch
    if not repository:
        raise DeployError("no repository to publish to: set deploy.repository or pass "
                          "--repository", config.path)
    if "://" not in repository and ":" not in repository.split("/")[0]:
        repository = str((config.root / repository).resolve())
    files = published_files(config)
    with tempfile.TemporaryDirectory(prefix="d2lbook-deploy-") as temporary:
        folder = Path(temporary) / "branch"
        checkout_branch(repository, branch, folder)
        sync_files(files, folder)
        run_git(["add", "--all", "."], folder)
        status = run_git(["status", "--porcelain", "--no-renames"], folder)
        changed = tuple(sorted(line[3:] for line in status.splitlines() if line.strip()))
        if not changed:
            return DeployResult(branch, (), None)
        run_git(["commit", "--quiet", "-m", message], folder)
        commit = run_git(["rev-parse", "HEAD"], folder).strip()
        run_git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], folder)
    return DeployResult(branch, changed, commit)
