"""What a build publishes: each target a function of one ``BookRun``, from one registry.

``build(config, names, options)`` runs the book once for every target named (the tabs and
the chapters they all need) and makes each target from that run; ``up_to_date(config,
names, tab)`` answers, before anything is parsed, a build whose inputs did not change
since the last one, with the warnings that build showed (``uptodate``). This module
imports no stage of the pipeline, so a build with nothing to do starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from d2lbook.recorded_warnings import recording_warnings

if TYPE_CHECKING:
    from d2lbook.build import BookRun, BuildOptions
    from d2lbook.config import Config
    from d2lbook.execute import RunRecord


@dataclass(frozen=True)
class Published:
    """What one target made."""

    target: str
    """The target's name."""
    paths: tuple[Path, ...]
    """The files or folders it wrote (or found up to date), for the user to open."""
    messages: tuple[str, ...] = ()
    """The renderer's warnings, as ``path:line: kind: message``."""
    rendered: bool = True
    """False when there was nothing to render (its inputs had not changed)."""
    seconds: float | None = None
    """How long it took, when that is worth showing (a PDF)."""


@dataclass(frozen=True)
class BuildOutcome:
    """What a build did."""

    published: tuple[Published, ...]
    """Each target's result, in the order asked for."""
    records: tuple[RunRecord, ...] = ()
    """One record per notebook executed or answered by the cache; none when up to date."""
    parsed: int = 0
    """Chapters parsed; the others were unchanged since the last build."""
    chapters: int = 0
    """Chapters of the book."""
    up_to_date: bool = False
    """True when nothing had changed: nothing was read, run or written."""

    @property
    def failures(self) -> list[RunRecord]:
        return [record for record in self.records if record.error is not None]


@dataclass(frozen=True)
class Target:
    """A target of ``d2lbook build`` made from a ``BookRun``."""

    name: str
    """The name on the command line."""
    function: str
    """``module:function`` taking the ``BookRun`` and returning ``Published``; imported
    when the target is built."""
    pages: bool = False
    """It needs the pages of the HTML site."""
    whole: bool = False
    """It needs every chapter parsed, with its executed notebook per tab."""
    pdf_tabs: bool = False
    """It covers the default tab only unless ``--tab`` says otherwise (one PDF per tab)."""

    def make(self, run: BookRun) -> Published:
        module, _, function = self.function.partition(":")
        made: Callable[[BookRun], Published] = getattr(importlib.import_module(module), function)
        return made(run)


TARGETS = {
    target.name: target
    for target in (
        Target("eval", "d2lbook.publish.site:publish_eval"),
        Target("html", "d2lbook.publish.site:publish_html", pages=True),
        Target("pdf", "d2lbook.publish.site:publish_pdf", whole=True, pdf_tabs=True),
        Target("ipynb", "d2lbook.publish.package:publish_ipynb", whole=True),
        Target("pkg", "d2lbook.publish.package:publish_pkg", whole=True),
        Target("colab", "d2lbook.publish.colab:publish_colab", whole=True),
        Target("slides", "d2lbook.publish.slides:build_slides", whole=True),
    )
}
"""Every target made from a ``BookRun``, by name."""


def target_tabs(config: Config, target: Target, tab: str | None) -> tuple[str, ...]:
    """The tabs ``target`` covers for ``--tab tab`` (``()``: a book without tabs)."""
    from d2lbook.source import selected_tabs

    if target.pdf_tabs and tab is None and config.default_tab is not None:
        return (config.default_tab,)
    return selected_tabs(config, tab)


def build(config: Config, names: Sequence[str], options: BuildOptions) -> BuildOutcome:
    """Run the book once for the targets ``names`` and make each from the run; remember
    the build's inputs and report, so an unchanged book is ``up_to_date`` next time."""
    from d2lbook.build import run_book
    from d2lbook.publish import uptodate
    from d2lbook.render import html

    targets = [TARGETS[name] for name in names]
    covered = {tab for target in targets for tab in target_tabs(config, target, options.tab)}
    tabs = tuple(tab for tab in config.build.tabs if tab in covered)
    before = uptodate.scan_inputs(config)
    with recording_warnings() as shown, html.sphinx_started_early("html" in names):
        run = run_book(
            config,
            options,
            tabs,
            pages=any(target.pages for target in targets),
            whole=any(target.whole for target in targets),
        )
        published = tuple(target.make(run) for target in targets)
    outcome = BuildOutcome(published, run.records, run.parsed, len(run.chapters))
    if not outcome.failures:
        uptodate.remember(config, names, options.tab, before, run, outcome, shown)
    return outcome


def up_to_date(config: Config, names: Sequence[str], tab: str | None) -> BuildOutcome | None:
    """The outcome of the last build of the same targets, if none of its inputs changed
    since (its warnings are shown again); None when the book must be built."""
    from d2lbook.publish import uptodate

    return uptodate.check(config, names, tab)
