"""Every command, given a bad value for each of its options, answers with one line of
error (besides click's usage lines), a non-zero exit status and no Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from d2lbook.cli import main
from tests.conftest import run_d2lbook

USAGE_LINES = ("Usage:", "Try ")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A starter book (``d2lbook new``): a config every command accepts."""
    folder = tmp_path_factory.mktemp("bad-values") / "book"
    result = CliRunner().invoke(main, ["new", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def error_lines(stderr: str) -> list[str]:
    return [
        line for line in stderr.splitlines() if line.strip() and not line.startswith(USAGE_LINES)
    ]


def assert_one_line_error(result: Result) -> None:
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output + result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].lower().startswith("error"), lines


# (arguments, with BOOK standing for the starter book's folder)
BAD_VALUES = [
    # build
    ["build"],
    ["build", "website", "--dir", "BOOK"],
    ["build", "html", "--dir", "BOOK/missing"],
    ["build", "html", "--dir", "BOOK/config.yaml"],
    ["build", "html", "--dir", "BOOK", "--tab", "nosuchtab"],
    ["build", "html", "--dir", "BOOK", "--set", "oops"],
    ["build", "html", "--dir", "BOOK", "--set", "build.nosuchkey=1"],
    ["build", "html", "--dir", "BOOK", "--set", "build.eval=maybe"],
    ["build", "html", "--dir", "BOOK", "--set", "build.workers=-3"],
    ["build", "html", "--dir", "BOOK", "--set", "nosuchsection.key=1"],
    ["build", "html", "--dir", "BOOK", "--workers", "-1"],
    ["build", "html", "--dir", "BOOK", "--workers", "0"],
    ["build", "html", "--dir", "BOOK", "--workers", "many"],
    ["build", "eval", "--dir", "BOOK", "--gpus", "x"],
    ["build", "eval", "--dir", "BOOK", "--gpus", "-1"],
    ["build", "eval", "--dir", "BOOK", "--gpus", "0,,a"],
    ["build", "eval", "--dir", "BOOK", "--executor", "cloud"],
    ["build", "eval", "--dir", "BOOK", "--cache-url", "nosuchprotocol://bucket/cache"],
    ["build", "html", "--dir", "BOOK", "--eval=perhaps"],
    ["build", "html", "--dir", "BOOK", "--no-such-option"],
    # activate
    ["activate", "mxnet"],
    ["activate", "mxnet", "BOOK/missing.md"],
    ["activate", "nosuchtab", "BOOK/index.md", "--dir", "BOOK"],
    ["activate", "mxnet", "BOOK/index.md", "--dir", "BOOK/missing"],
    # new
    ["new"],
    ["new", "BOOK"],  # not empty
    ["new", "BOOK/index.md"],  # a file
    ["new", "/dev/null/book"],  # cannot be made
    ["build", "html", "--dir", "BOOK", "--set", "build.output_dir=index.md/_build"],
    # serve
    ["serve", "--dir", "BOOK", "--port", "-1"],
    ["serve", "--dir", "BOOK", "--port", "70000"],
    ["serve", "--dir", "BOOK", "--port", "http"],
    ["serve", "--dir", "BOOK", "--interval", "0"],
    ["serve", "--dir", "BOOK", "--interval", "soon"],
    ["serve", "--dir", "BOOK/missing"],
    # clear
    ["clear", "--dir", "BOOK/missing"],
    ["clear", "--dir", "BOOK", "--cache=yes"],
    # deploy
    ["deploy", "--dir", "BOOK/missing"],
    ["deploy", "--dir", "BOOK"],  # no built site, no repository
    ["deploy", "--dir", "BOOK", "--repository", "BOOK/missing", "--branch", "x y"],
    # cache
    ["cache", "stats", "--dir", "BOOK/missing"],
    ["cache", "stats", "--dir", "BOOK", "--set", "oops"],
    ["cache", "push", "--dir", "BOOK"],  # no remote cache configured
    ["cache", "pull", "--dir", "BOOK", "--cache-url", "nosuchprotocol://bucket"],
    ["cache", "prune", "--dir", "BOOK"],  # --keep-days is required
    ["cache", "prune", "--dir", "BOOK", "--keep-days", "-1"],
    ["cache", "prune", "--dir", "BOOK", "--keep-days", "week"],
    ["cache", "prune", "--dir", "BOOK", "--keep-days", "1", "--tier", "cloud"],
    ["cache", "prune", "--dir", "BOOK", "--keep-days", "1", "--set", "build.cache_dir="],
]


@pytest.mark.parametrize("arguments", BAD_VALUES, ids=" ".join)
def test_bad_value_is_one_line_error(book: Path, arguments: list[str]) -> None:
    arguments = [argument.replace("BOOK", str(book)) for argument in arguments]
    assert_one_line_error(CliRunner().invoke(main, arguments))


def test_bad_alias_in_config_is_located(book: Path, tmp_path: Path) -> None:
    """A library.tabs.TAB.args_alias that is not a call is a config error at its line."""
    config = (book / "config.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "book"
    broken.mkdir()
    (broken / "config.yaml").write_text(
        config + "\nlibrary:\n  tabs:\n    default:\n      lib_file: d2l.py\n"
        "      args_alias: ['reshape(x, -> y']\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["build", "lib", "--dir", str(broken)])
    assert_one_line_error(result)
    assert "args_alias" in result.stderr
    assert f"{broken / 'config.yaml'}:" in result.stderr


def test_bad_colab_libs_is_located(book: Path, tmp_path: Path) -> None:
    config = (book / "config.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "book"
    broken.mkdir()
    (broken / "config.yaml").write_text(
        config + "\ncolab:\n  libs: ['torch only']\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["clear", "--dir", str(broken)])
    assert_one_line_error(result)
    assert "colab.libs[0]" in result.stderr and f"{broken / 'config.yaml'}:" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["build", "eval", "--gpus", "x"],
        ["cache", "prune", "--keep-days", "-2"],
        ["build", "html", "--set", "build.eval=maybe"],
    ],
    ids=" ".join,
)
def test_bad_value_in_a_real_process(book: Path, arguments: list[str]) -> None:
    """The installed entry point as a user runs it: same one line, no traceback."""
    result = run_d2lbook(*arguments, cwd=book, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert len(error_lines(result.stderr)) == 1, result.stderr


def test_bad_environment_override_is_a_config_error(book: Path) -> None:
    """$D2LBOOK_CACHE_URL sets build.cache_url: a bad one is reported as that key."""
    result = CliRunner(env={"D2LBOOK_CACHE_URL": "nosuchprotocol://bucket"}).invoke(
        main, ["cache", "stats", "--dir", str(book)]
    )
    assert_one_line_error(result)
    assert "build.cache_url nosuchprotocol://bucket" in result.stderr
