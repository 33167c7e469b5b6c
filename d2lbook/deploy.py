"""Publish the built site, PDFs and packages to a branch of a git repository.

``deploy(config)`` clones ``deploy.branch`` of ``deploy.repository`` (URL or path) into a
temporary folder, makes its files equal the build's (``html/`` at the root, PDFs and zips
beside it), commits when something changed and pushes. git runs as a subprocess with
``cwd=``; the author is passed with ``-c``, never written to any git config. The repository
and branch are checked before git runs (``check_repository``, ``check_branch``) and follow
``--`` on git's command lines, so no value from the config is ever taken as an option.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from d2lbook.config import Config
from d2lbook.errors import BookError
from d2lbook.files import copy_if_changed

AUTHOR = (
    "-c",
    "user.name=d2lbook",
    "-c",
    "user.email=d2lbook@localhost",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "protocol.fd.allow=never",
)
URL_SCHEMES = ("https", "http", "ssh", "git", "file")
URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://[^\s]+")
SCP_LIKE = re.compile(r"(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*:(?!:)[^\s]*")
"""``user@host:path``, as git reads a remote without a scheme."""
BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
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
    process = subprocess.run(
        ["git", *AUTHOR, *arguments], cwd=cwd, capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        raise DeployError(
            f"git {' '.join(arguments)} failed: {(process.stderr or process.stdout).strip()}", cwd
        )
    return process.stdout


def published_files(config: Config) -> dict[str, Path]:
    """Branch path -> built file: the site at the root, PDFs and packages beside it."""
    html = config.paths.html
    if not (html / "index.html").is_file():
        raise DeployError("no built site to publish; run 'd2lbook build html' first", html)
    files = {
        path.relative_to(html).as_posix(): path
        for path in sorted(html.rglob("*"))
        if path.is_file() and not path.name.startswith(".d2lbook") and ".doctrees" not in path.parts
    }
    build = config.paths
    for folder, suffix in ((build.pdfs, ".pdf"), (build.pkgs, ".zip")):  # not LaTeX's folders
        for path in sorted(folder.glob(f"*{suffix}")):
            files.setdefault(path.name, path)
    files.setdefault(".nojekyll", Path())  # GitHub Pages: serve _static/ and friends
    return files


def check_repository(repository: str, what: str, path: Path | None) -> str:
    """``repository`` if it is an http(s)/ssh/git/file URL, a ``user@host:path`` remote or a
    local path; an option-like or unknown-transport value is a ``DeployError``."""
    problem = None
    if not repository.strip() or repository.startswith("-"):
        problem = "must not be empty or start with '-'"
    elif any(ord(character) < 32 or character.isspace() for character in repository):
        problem = "must not hold spaces or control characters"
    elif (match := URL.fullmatch(repository)) is not None:
        if match["scheme"].lower() not in URL_SCHEMES:
            problem = f"transport '{match['scheme']}' is not one of {', '.join(URL_SCHEMES)}"
    elif "::" in repository:
        problem = "git remote helpers ('transport::address') are not allowed"
    if problem is not None:
        raise DeployError(f"{what} {repository!r} {problem}", path)
    return repository


def check_branch(branch: str, what: str, path: Path | None) -> str:
    """``branch`` if it is a plain branch name (letters, digits, ``._/-``, no ``..``)."""
    if not BRANCH.fullmatch(branch) or ".." in branch or branch.endswith((".lock", "/")):
        raise DeployError(f"{what} {branch!r} is not a plain branch name", path)
    return branch


def is_remote(repository: str) -> bool:
    """A URL or ``user@host:path``, not a local folder."""
    return URL.fullmatch(repository) is not None or (
        SCP_LIKE.fullmatch(repository) is not None and "/" not in repository.split(":")[0]
    )


def checkout_branch(repository: str, branch: str, folder: Path) -> None:
    """Clone ``branch`` into ``folder``, or start it empty when the repository lacks it."""
    heads = run_git(["ls-remote", "--heads", "--", repository, branch], folder.parent)
    if heads.strip():
        run_git(
            ["clone", "--quiet", "--depth", "1", "--branch", branch, "--", repository, str(folder)],
            folder.parent,
        )
        return
    folder.mkdir()
    run_git(["init", "--quiet"], folder)
    run_git(["checkout", "--quiet", "--orphan", branch], folder)
    run_git(["remote", "add", "--", "origin", repository], folder)


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


def deploy(
    config: Config,
    repository: str | None = None,
    branch: str | None = None,
    message: str = "Publish the book",
) -> DeployResult:
    """Publish the build to ``branch`` of ``repository`` (defaults from ``deploy``)."""
    what = "--repository" if repository else "deploy.repository"
    repository = repository or config.deploy.repository
    branch = check_branch(
        branch or config.deploy.branch, "--branch" if branch else "deploy.branch", config.path
    )
    if not repository:
        raise DeployError(
            "no repository to publish to: set deploy.repository or pass --repository", config.path
        )
    check_repository(repository, what, config.path)
    if not is_remote(repository):  # a local repository: an explicit path outside the book
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
