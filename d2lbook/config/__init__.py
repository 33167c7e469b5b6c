"""The book's settings: one typed schema with a help text per field.

``load_config(root)`` reads ``config.yaml`` (or a legacy ``config.ini``) into a
frozen ``Config``; unknown keys and wrong types raise ``ConfigError`` naming the
file, line, key and what was expected. Per-tab variants are derived with ``for_tab``.
The schema is in ``schema``, the conversion of file and command-line values in ``reading``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

from d2lbook import paths
from d2lbook.config.reading import (
    apply_override,
    check_minimums,
    check_no_nul,
    convert_text,
    describe_schema,
    read_yaml,
    setting_line,
)
from d2lbook.config.schema import (
    BuildConfig,
    ColabConfig,
    Config,
    DeployConfig,
    HeaderLink,
    HtmlConfig,
    LibraryConfig,
    PdfConfig,
    ProjectConfig,
    SlidesConfig,
    TabLibraryConfig,
)
from d2lbook.errors import BookWarning, ConfigError

__all__ = [
    "ENVIRONMENT_OVERRIDES",
    "BuildConfig",
    "ColabConfig",
    "Config",
    "DeployConfig",
    "HeaderLink",
    "HtmlConfig",
    "LegacyConfigWarning",
    "LibraryConfig",
    "MissingConfigWarning",
    "PdfConfig",
    "ProjectConfig",
    "SlidesConfig",
    "TabLibraryConfig",
    "colab_libs",
    "convert_text",
    "describe_schema",
    "for_tab",
    "load_config",
    "setting_line",
]


class LegacyConfigWarning(BookWarning):
    """A legacy ``config.ini`` holds a section or key this d2lbook does not use."""


class MissingConfigWarning(BookWarning):
    """The book has no config file; every setting takes its default."""


ENVIRONMENT_OVERRIDES = {
    "D2LBOOK_CACHE_URL": "build.cache_url",
    "D2LBOOK_RAY_SHARED_ROOT": "build.ray_shared_path",
}
"""Environment variables that set a key (named in the key's help): the config file, then
these when set and not empty, then ``--set`` and the command line's options."""


def load_config(
    root: Path,
    overrides: Mapping[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> Config:
    """Read ``root/config.yaml`` or else ``root/config.ini``, then apply the
    ``ENVIRONMENT_OVERRIDES`` set in ``environment`` (default: this process's), then
    ``overrides``: dotted keys from the command line (``{"build.eval": "false"}``)."""
    root = Path(root)
    yaml_path, ini_path = root / "config.yaml", root / "config.ini"
    if yaml_path.is_file():
        config = Config(root=root, path=yaml_path, **read_yaml(yaml_path))
    elif ini_path.is_file():
        from d2lbook.config_ini import read_ini  # builds on this schema

        config = Config(root=root, path=ini_path, **read_ini(ini_path))
    else:
        warnings.warn(
            f"{root}: no config.yaml or config.ini, every setting takes its default",
            MissingConfigWarning,
            stacklevel=2,
        )
        config = Config(root=root)
    check_minimums(config, Config, "", config.path)
    environment = os.environ if environment is None else environment
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if environment.get(variable):
            config = apply_override(config, key, environment[variable], f"${variable}: setting")
    for key, text in (overrides or {}).items():
        config = apply_override(config, key, text)
    check_no_nul(config, "", config.path)
    _check_github_repositories(config)
    _check_colab_libs(config)
    _check_args_aliases(config)
    paths.check_config_paths(config)
    return config


GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*")


def _check_github_repositories(config: Config) -> None:
    """``colab.github_repo`` values are GitHub ``owner/name`` pairs, nothing that could
    become an option or another address in the links built from them."""
    for tab, repository in config.colab.github_repo.items():
        if repository and (not GITHUB_REPOSITORY.fullmatch(repository) or ".." in repository):
            raise ConfigError(
                f"colab.github_repo.{tab}: expected a GitHub repository "
                f"'owner/name', got {repository!r}",
                config.path,
            )


def colab_libs(config: Config) -> list[tuple[str, str, str]]:
    """``colab.libs`` lines ('tab, name, pip-spec') as (tab, name, pip-spec) triples."""
    triples = []
    for number, entry in enumerate(config.colab.libs):
        parts = [part.strip() for part in entry.split(",", 2)]
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"colab.libs[{number}]: expected 'tab, name, pip-spec', got {entry!r}",
                config.path,
                setting_line(config, "colab.libs", entry),
            )
        triples.append((parts[0], parts[1], parts[2]))
    return triples


def _check_colab_libs(config: Config) -> None:
    colab_libs(config)


def _check_args_aliases(config: Config) -> None:
    """Every ``library.tabs.TAB.args_alias`` entry is 'name(x, k=1) -> expression'."""
    from d2lbook.library.aliases import parse_args_alias, parse_mapping  # it reads this schema

    for tab, library in config.library.tabs.items():
        key = f"library.tabs.{tab}.args_alias"
        for call, expansion in parse_mapping(library.args_alias, split_terms=False):
            try:
                parse_args_alias(call, expansion)
            except ValueError as error:
                raise ConfigError(
                    f"{key}: {error}", config.path, setting_line(config, key)
                ) from None


def for_tab(config: Config, tab: str) -> Config:
    """A copy of ``config`` for building ``tab`` (one of ``build.tabs``)."""
    if tab not in config.build.tabs:
        choices = ", ".join(config.build.tabs) or "none: the book has no tabs"
        raise ConfigError(f"unknown tab '{tab}' (tabs: {choices})", config.path)
    return dataclasses.replace(config, tab=tab)
