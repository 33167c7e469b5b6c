"""Tests for d2lbook.tabs: selecting a tab's code, splitting, merging, tabcheck, activate."""

from __future__ import annotations

import functools
import shutil
import textwrap
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from d2lbook.errors import ParseError
from d2lbook.parse import Cell, Document, parse_markdown, to_notebook
from d2lbook.tabs import (
    activate,
    check_tabs,
    has_code,
    merge_notebooks,
    select_code,
    split_document,
)
from tests.browser import CHROMIUM_FLAGS
from tests.conftest import CHROMIUM, CORPUS, require_chromium, require_corpus

FIXTURES = Path(__file__).parent / "fixtures" / "tabs"
TABS = ("pytorch", "mxnet", "jax")
CORPUS_TABS = ("pytorch", "mxnet", "jax", "tensorflow")


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def load(name: str) -> Document:
    return parse_markdown((FIXTURES / name).read_text(), name)


def line_of(name: str, needle: str) -> int:
    lines = (FIXTURES / name).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def corpus_chapters() -> list[Path]:
    return sorted(require_corpus().rglob("*.md"))


# ---------------------------------------------------------------- select_code: marks


@pytest.mark.parametrize(
    ("source", "tab", "expected"),
    [
        ("#@tab pytorch, mxnet\nx = 1\n", "mxnet", "x = 1\n"),
        ("#@tab pytorch, mxnet\nx = 1\n", "jax", None),
        ("%%tab jax\nx = 1\n", "jax", "x = 1\n"),
        ("%%tab jax\nx = 1\n", "pytorch", None),
        ("%%tab all\nx = 1", "jax", "x = 1"),
        ("#@tab all\nx = 1\n", "pytorch", "x = 1\n"),
        ("x = 1\n", "pytorch", "x = 1\n"),
        ("x = 1\n", "mxnet", None),
        ("# a comment, not a mark\nx = 1\n", "pytorch", "# a comment, not a mark\nx = 1\n"),
    ],
)
def test_select_code_follows_tab_marks(source: str, tab: str, expected: str | None) -> None:
    assert select_code(source, tab, TABS) == expected


# ---------------------------------------------------------------- select_code: branches

CHAIN = code(
    """
    %%tab all
    x = 1  # shared
    if tab.selected('pytorch'):
        import torch  # keep this comment
        y = torch.ones(2)
    elif tab.selected('mxnet', 'jax'):
        # arrays
        y = [1,
             1]
    else:
        y = None
    print(y)
    """
)


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("pytorch", "x = 1  # shared\nimport torch  # keep this comment\ny = torch.ones(2)\n"),
        ("mxnet", "x = 1  # shared\n# arrays\ny = [1,\n     1]\n"),
        ("jax", "x = 1  # shared\n# arrays\ny = [1,\n     1]\n"),
        ("tensorflow", "x = 1  # shared\ny = None\n"),
    ],
)
def test_if_elif_else_keeps_the_chosen_branch_dedented(tab: str, expected: str) -> None:
    tabs = TABS + ("tensorflow",)
    assert select_code(CHAIN, tab, tabs) == expected + "print(y)\n"


NESTED = code(
    '''
    #@tab all
    def make():
        """Make a pair."""
        if tab.selected('pytorch', 'mxnet'):
            a = 1
            if tab.selected('mxnet'):
                b = """two
                lines"""
            else:
                b = 3
        if not tab.selected('pytorch') and not tab.selected('mxnet'):
            a, b = 0, 0
        return a, b
    '''
)


def test_nested_branches_that_cannot_join_a_block_dedent_each_level() -> None:
    # Dedented once in total (the original layout), ``b`` would sit under ``a = 1``
    # and not compile, so each level dedents its own step.
    assert select_code(NESTED, "pytorch", TABS) == code(
        '''
        def make():
            """Make a pair."""
            a = 1
            b = 3
            return a, b
        '''
    )
    assert select_code(NESTED, "mxnet", TABS) == code(
        '''
        def make():
            """Make a pair."""
            a = 1
            b = """two
            lines"""
            return a, b
        '''
    )
    assert select_code(NESTED, "jax", TABS) == code(
        '''
        def make():
            """Make a pair."""
            a, b = 0, 0
            return a, b
        '''
    )


MODULE = code(
    '''
    %%tab mxnet, jax
    class Module:  #@save
        """The base class of models."""
        if tab.selected('mxnet', 'jax'):
            def __init__(self):
                super().__init__()
            if tab.selected('mxnet'):
                self.training = None

        if tab.selected('jax'):
            board: int = 0

        def loss(self):
            raise NotImplementedError
    '''
)


def test_a_nested_branch_after_a_def_joins_its_body_as_in_the_original_tool() -> None:
    # d2l-en's tensorflow ``Module`` is written this way: the nested clause is dedented
    # once in total, so ``self.training = None`` lands in ``__init__``.
    mxnet = select_code(MODULE, "mxnet", TABS)
    assert mxnet == code(
        '''
        class Module:  #@save
            """The base class of models."""
            def __init__(self):
                super().__init__()
                self.training = None

            def loss(self):
                raise NotImplementedError
        '''
    )
    jax = select_code(MODULE, "jax", TABS)
    assert jax == code(
        '''
        class Module:  #@save
            """The base class of models."""
            def __init__(self):
                super().__init__()
            board: int = 0

            def loss(self):
                raise NotImplementedError
        '''
    )
    compile(jax, "cell", "exec")


def test_blank_lines_after_a_clause_go_with_it() -> None:
    source = code(
        """
        %%tab all
        x = 1
        if tab.selected('pytorch'):
            y = 2

        if tab.selected('jax'):
            y = 3


        print(y)
        """
    )
    assert select_code(source, "pytorch", TABS) == "x = 1\ny = 2\n\nprint(y)\n"
    assert select_code(source, "jax", TABS) == "x = 1\ny = 3\n\n\nprint(y)\n"
    assert select_code(source, "mxnet", TABS) == "x = 1\nprint(y)\n"


def test_whitespace_lines_of_a_kept_clause_lose_its_step() -> None:
    source = "def f():\n    if tab.selected('jax'):\n        a = 1\n        \n        b = 2\n"
    assert select_code(source, "pytorch", ("pytorch", "jax")) == "def f():\n    pass\n"
    assert select_code("#@tab all\n" + source, "jax", ("pytorch", "jax")) == (
        "def f():\n    a = 1\n    \n    b = 2\n"
    )


def test_several_chains_and_or_conditions_in_one_cell() -> None:
    source = code(
        """
        %%tab all
        def optimizer(self):
            if tab.selected('mxnet') or tab.selected('pytorch'):
                return SGD([self.w], self.lr)
            if tab.selected(['jax']):
                return SGD(self.lr)

        def loss(self):
            if tab.selected('pytorch'):
                return 1
            return 0
        """
    )
    assert select_code(source, "jax", TABS) == code(
        """
        def optimizer(self):
            return SGD(self.lr)

        def loss(self):
            return 0
        """
    )


def test_a_block_left_empty_gets_pass_and_compiles() -> None:
    source = code(
        """
        #@tab all
        class Trainer:
            if tab.selected('mxnet'):
                def step(self):
                    pass
            if tab.selected('jax'):
                def step(self):
                    pass
        """
    )
    selected = select_code(source, "pytorch", TABS)
    assert selected == "class Trainer:\n    pass\n"
    compile(selected, "cell", "exec")


def test_else_holding_a_chain_and_trailing_comments_follow_their_branch() -> None:
    source = code(
        """
        #@tab all
        if tab.selected('pytorch'):
            x = 1
        else:
            if tab.selected('mxnet'):
                x = 2
            # about the else branch

        try:
            if tab.selected('jax'):
                import jax
        except ImportError:
            pass
        """
    )
    assert select_code(source, "mxnet", TABS) == (
        "x = 2\n# about the else branch\n\ntry:\n    pass\nexcept ImportError:\n    pass\n"
    )
    # the blank line after the comment belongs to the dropped else clause
    assert select_code(source, "pytorch", TABS) == (
        "x = 1\ntry:\n    pass\nexcept ImportError:\n    pass\n"
    )
    assert select_code(source, "jax", TABS) == (
        "# about the else branch\n\ntry:\n    import jax\nexcept ImportError:\n    pass\n"
    )


def test_one_line_branch_and_magics_around_branches() -> None:
    source = code(
        """
        %matplotlib inline
        if tab.selected('pytorch'): x = 1
        if tab.selected('pytorch'):
            !echo hi
        """
    )
    assert select_code(source, "pytorch", TABS) == "%matplotlib inline\nx = 1\n!echo hi\n"


def test_tab_selected_named_in_comments_and_strings_is_not_a_use() -> None:
    source = code(
        """
        %%tab all
        # if tab.selected('jax'): is how a branch starts
        note = "tab.selected('jax')"
        if tab.selected('jax'):
            x = 1
        """
    )
    assert select_code(source, "jax", TABS) == (
        "# if tab.selected('jax'): is how a branch starts\nnote = \"tab.selected('jax')\"\nx = 1\n"
    )
    with pytest.raises(ParseError) as caught:
        select_code(source + "y = tab . selected('jax')\n", "jax", TABS)
    assert caught.value.line == 6


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("%%tab all\nx = 1\ny = 2 if tab.selected('jax') else 3\n", 3),
        ("%%tab all\nif tab.selected('jax') and ready:\n    x = 1\n", 2),
        ("%%tab all\nif ready:\n    x = 1\nelif tab.selected('jax'):\n    x = 2\n", 4),
        ("%%tab all\nif tab.selected('jax'):\n    x = 1\nelif ready:\n    x = 2\n", 4),
        ("%%tab all\nif tab.selected(name):\n    x = 1\n", 2),
        ("%%tab all\nif tab.selected('jax'):\nx = 1\n", 3),
    ],
)
def test_unresolvable_tab_selected_is_an_error_at_its_line(source: str, line: int) -> None:
    with pytest.raises(ParseError) as caught:
        select_code(source, "jax", TABS)
    assert caught.value.line == line


# ---------------------------------------------------------------- split_document


def test_split_document_keeps_one_tabs_cells_with_their_lines() -> None:
    document = load("chapter.md")
    pytorch = split_document(document, "pytorch", TABS)
    assert [(cell.kind, cell.line) for cell in pytorch.cells] == [
        ("markdown", 6),
        ("code", 11),
        ("markdown", 21),
        ("code", 29),
        ("markdown", 40),
        ("code", 42),
        ("markdown", 46),
    ]
    shared = next(cell for cell in pytorch.cells if cell.line == 29)
    assert shared.source == "x = [1, 2, 3]\nx = torch.tensor(x)  # a tensor\nx\n"
    assert pytorch.path == "chapter.md"

    mxnet = split_document(document, "mxnet", TABS)
    assert [cell.line for cell in mxnet.cells] == [6, 16, 25, 29, 40, 46]
    assert next(cell for cell in mxnet.cells if cell.line == 16).source == "from mxnet import np\n"
    jax = split_document(document, "jax", TABS)
    assert [cell.line for cell in jax.cells] == [6, 25, 29, 40, 46]
    assert next(cell for cell in jax.cells if cell.line == 29).source == "x = [1, 2, 3]\nx\n"


def test_split_document_errors_name_the_file_and_line() -> None:
    document = Document(
        "broken.md",
        (
            Cell(
                "code", "%%tab all\nx = 1\nif tab.selected('a') or flag:\n    x = 2\n", 7, ("all",)
            ),
        ),
    )
    with pytest.raises(ParseError) as caught:
        split_document(document, "a", ("a", "b"))
    assert (caught.value.path, caught.value.line) == ("broken.md", 10)


def test_has_code_is_false_for_a_tab_without_code() -> None:
    document = Document(
        "only.md",
        (
            Cell("markdown", "# Only PyTorch", 1),
            Cell("code", "%%tab pytorch\nimport torch\n", 3, ("pytorch",)),
            Cell("code", "%load_ext d2lbook.tab\ntab.interact_select(['pytorch'])\n", 7),
        ),
    )
    assert has_code(document, "pytorch", TABS)
    assert not has_code(document, "mxnet", TABS)
    assert has_code(load("chapter.md"), "jax", TABS)


# ---------------------------------------------------------------- merge_notebooks


def executed_tabs(document: Document, tabs: tuple[str, ...]) -> dict[str, nbformat.NotebookNode]:
    """Tab notebooks as the executor returns them: each code cell with an output naming
    its tab and line, so the merge can be seen to keep each tab's own outputs."""
    notebooks = {}
    for tab in tabs:
        if not has_code(document, tab, tabs):
            continue
        notebook = to_notebook(split_document(document, tab, tabs))
        for cell in notebook.cells:
            if cell.cell_type == "code":
                text = f"{tab}:{cell.metadata['d2lbook']['line']}\n"
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        notebooks[tab] = notebook
    return notebooks


def first_seen(lines: list[int]) -> list[int]:
    return list(dict.fromkeys(lines))


def test_merge_round_trip_gives_the_source_order_with_tab_groups() -> None:
    document = load("chapter.md")
    merged = merge_notebooks(executed_tabs(document, TABS), TABS)
    nbformat.validate(merged)
    lines = [cell.metadata["d2lbook"]["line"] for cell in merged.cells]
    assert first_seen(lines) == [6, 11, 16, 21, 25, 29, 40, 42, 46]
    summary = [
        (cell.metadata["d2lbook"]["line"], cell.metadata["d2lbook"].get("tab"))
        for cell in merged.cells
    ]
    assert summary == [
        (6, None),
        (11, "pytorch"),
        (16, "mxnet"),
        (21, "pytorch"),
        (25, "mxnet"),
        (29, "pytorch"),
        (29, "mxnet"),
        (29, "jax"),
        (40, None),
        (42, "pytorch"),
        (46, None),
    ]


def test_merge_tags_groups_and_keeps_each_tabs_outputs() -> None:
    merged = merge_notebooks(executed_tabs(load("chapter.md"), TABS), TABS)
    cells = merged.cells
    groups = [cell.metadata["d2lbook"].get("tab_group") for cell in cells]
    assert groups == [None, 0, 0, 0, 0, 0, 0, 0, None, 1, None]
    assert cells[1].metadata["tags"] == ["d2l-tab-pytorch"]
    assert cells[4].metadata["tags"] == ["d2l-tab-mxnet", "d2l-tab-jax"]
    assert "tags" not in cells[0].metadata
    shared = [cell for cell in cells if cell.metadata["d2lbook"]["line"] == 29]
    assert [cell.outputs[0]["text"] for cell in shared] == [
        "pytorch:29\n",
        "mxnet:29\n",
        "jax:29\n",
    ]
    assert [cell.source for cell in shared] == [
        "x = [1, 2, 3]\nx = torch.tensor(x)  # a tensor\nx",
        "x = [1, 2, 3]\nx = np.array(x)\nx",
        "x = [1, 2, 3]\nx",
    ]
    ids = [cell["id"] for cell in cells]
    assert len(ids) == len(set(ids))
    assert merged.metadata["d2lbook"]["tabs"] == list(TABS)


def test_merge_with_one_tab_adds_no_groups() -> None:
    document = load("chapter.md")
    merged = merge_notebooks(executed_tabs(document, ("pytorch",)), ("pytorch",))
    assert all("tab" not in cell.metadata["d2lbook"] for cell in merged.cells)
    assert [cell.metadata["d2lbook"]["line"] for cell in merged.cells] == [
        6,
        11,
        21,
        29,
        40,
        42,
        46,
    ]


def test_merge_skips_a_tab_without_notebook() -> None:
    document = load("chapter.md")
    notebooks = executed_tabs(document, TABS)
    del notebooks["jax"]
    merged = merge_notebooks(notebooks, TABS)
    assert [cell.metadata["d2lbook"].get("tab") for cell in merged.cells][5:8] == [
        "pytorch",
        "mxnet",
        None,
    ]


# ---------------------------------------------------------------- check_tabs


def test_check_tabs_reports_unknown_tabs_with_file_and_line() -> None:
    errors = check_tabs(load("unknown.md"), TABS)
    found = sorted((error.line, error.message.split(",")[0]) for error in errors)
    assert found == [
        (line_of("unknown.md", "#@tab pytorch, torch"), "the tab mark names tab 'torch'"),
        (line_of("unknown.md", ":begin_tab:`numpyy`"), ":begin_tab: names tab 'numpyy'"),
        (line_of("unknown.md", "tab.selected('pytoch')"), "tab.selected(...) names tab 'pytoch'"),
        (
            line_of("unknown.md", "z = 3 if tab.selected"),
            "tab.selected(...) must be the whole condition of an if/elif",
        ),
    ]
    assert all(error.path == "unknown.md" for error in errors)
    assert str(errors[0]).startswith("unknown.md:")


def test_check_tabs_accepts_a_clean_chapter() -> None:
    assert check_tabs(load("chapter.md"), TABS) == []


# ---------------------------------------------------------------- activate


def executed_lines(text: str) -> list[int]:
    return [cell.line for cell in parse_markdown(text, "x.md").cells if cell.kind == "code"]


def test_activate_runs_only_one_tab_and_all_restores() -> None:
    text = (FIXTURES / "chapter.md").read_text()
    mxnet = activate(text, "mxnet", TABS)
    assert executed_lines(mxnet) == [1, 16, 29]
    assert "```{.python .inactive}\n%%tab pytorch" in mxnet
    assert "```{.python .input  n=2}\n%%tab mxnet" in mxnet
    assert "```python\nprint" in mxnet
    assert executed_lines(activate(text, "pytorch", TABS)) == [1, 11, 29, 42]
    assert activate(mxnet, "all", TABS) == text
    assert activate(activate(mxnet, "jax", TABS), "all", TABS) == text


def test_activate_all_restores_what_the_original_tool_left() -> None:
    text = "```python\n#@tab mxnet\nx = 1\n```\n\n```python\nprint(2)\n```\n"
    restored = activate(text, "all", TABS)
    assert restored == "```{.python .input}\n#@tab mxnet\nx = 1\n```\n\n```python\nprint(2)\n```\n"


# ---------------------------------------------------------------- the real corpus


def test_every_corpus_cell_splits_and_compiles_for_every_tab() -> None:
    transformer = TransformerManager()
    count = 0
    for path in corpus_chapters():
        document = parse_markdown(path.read_text(), str(path.relative_to(CORPUS)))
        assert check_tabs(document, CORPUS_TABS) == []
        for tab in CORPUS_TABS:
            for cell in split_document(document, tab, CORPUS_TABS).cells:
                if cell.kind != "code":
                    continue
                assert "tab.selected" not in cell.source and "%%tab" not in cell.source
                compile(transformer.transform_cell(cell.source), f"{path}:{cell.line}", "exec")
                count += 1
    assert count > 500


def test_corpus_branches_differ_between_tabs() -> None:
    path = require_corpus() / "chapter_builders-guide" / "use-gpu.md"
    document = parse_markdown(path.read_text(), "use-gpu.md")
    cell = next(cell for cell in document.cells if "return npx.cpu()" in cell.source)
    assert select_code(cell.source, "pytorch", CORPUS_TABS) is None
    jax = select_code(cell.source, "jax", CORPUS_TABS)
    assert jax is not None and "    return jax.devices('cpu')[0]\n" in jax
    assert "npx" not in jax and "tf.device" not in jax


def test_corpus_merge_round_trip_and_activate_round_trip() -> None:
    for path in corpus_chapters():
        text = path.read_text()
        document = parse_markdown(text, path.name)
        notebooks = executed_tabs(document, CORPUS_TABS)
        if not notebooks:
            continue
        merged = merge_notebooks(notebooks, CORPUS_TABS)
        kept = {
            cell.line
            for tab in notebooks
            for cell in split_document(document, tab, CORPUS_TABS).cells
        }
        expected = [cell.line for cell in document.cells if cell.line in kept]
        lines = [cell.metadata["d2lbook"]["line"] for cell in merged.cells]
        assert first_seen(lines) == expected, path
        assert lines == sorted(lines), path
        for tab in CORPUS_TABS:
            assert activate(activate(text, tab, CORPUS_TABS), "all", CORPUS_TABS) == text, path


# ---------------------------------------------------------------- the HTML switcher, in Chromium

STATIC = Path(__file__).parent.parent / "templates" / "static"


@pytest.fixture
def served_fixtures(tmp_path: Path):
    """The switcher fixture pages and the shipped assets, served on 127.0.0.1."""
    site = tmp_path / "site"
    site.mkdir()
    for page in ("switcher.html", "switcher-other.html"):
        shutil.copy(FIXTURES / page, site / page)
    for asset in ("d2lbook-tabs.js", "d2lbook-tabs.css"):
        shutil.copy(STATIC / asset, site / asset)

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser_page(tmp_path: Path):
    """A page of Debian's Chromium driven by Playwright, with a fresh profile."""
    require_chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        context.set_default_timeout(10_000)
        errors: list[str] = []
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            context.close()
        assert errors == []


def visible_texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(
        selector, "elements => elements.filter(e => e.offsetParent !== null).map(e => e.innerText)"
    )


def shown(page) -> list[str]:
    """Texts of the tab panels on screen, in page order."""
    return [
        text.strip()
        for text in visible_texts(
            page, "[role=tabpanel] .cell_output pre, [role=tabpanel] > pre, .d2l-tab p"
        )
    ]


@pytest.mark.slow
def test_switcher_groups_switches_remembers_and_survives_no_storage(
    served_fixtures: str, browser_page, tmp_path: Path
) -> None:
    page = browser_page
    page.goto(f"{served_fixtures}/switcher.html")
    bars = page.locator("[role=tablist]")
    assert bars.count() == 3
    labels = [bars.nth(index).locator("[role=tab]").all_inner_texts() for index in range(3)]
    assert labels == [["PyTorch", "MXNet", "JAX"], ["PyTorch", "MXNet", "JAX"], ["PyTorch"]]
    assert shown(page) == [
        "pytorch output A",
        "pytorch text B",
        "pytorch output B",
        "pytorch output C",
    ]
    ids = page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)")
    assert len(ids) == len(set(ids))
    assert page.locator("#first-cell").get_attribute("role") == "tabpanel"
    assert page.locator("[role=tabpanel][hidden]").count() == 4

    bars.nth(1).get_by_role("tab", name="MXNet").click()
    assert shown(page) == [
        "mxnet output A",
        "mxnet and jax text B",
        "mxnet output B",
        "pytorch output C",
    ]
    selected = page.locator("[role=tab][aria-selected=true]").all_inner_texts()
    assert selected == ["MXNet", "MXNet", "PyTorch"]

    first_bar = bars.nth(0)
    first_bar.get_by_role("tab", name="MXNet").focus()
    page.keyboard.press("ArrowRight")
    assert shown(page) == ["jax output A", "mxnet and jax text B", "pytorch output C"]
    assert page.evaluate("document.activeElement.textContent") == "JAX"
    page.keyboard.press("ArrowRight")
    assert shown(page)[0] == "pytorch output A"
    page.keyboard.press("End")
    assert shown(page)[0] == "jax output A"
    first_bar.get_by_role("tab", name="MXNet").focus()
    page.keyboard.press(" ")
    assert shown(page)[:3] == ["mxnet output A", "mxnet and jax text B", "mxnet output B"]
    page.screenshot(path=str(tmp_path / "switcher.png"), full_page=True)
    assert (tmp_path / "switcher.png").read_bytes()[:4] == b"\x89PNG"

    page.click("#next")
    page.wait_for_url("**/switcher-other.html")
    assert shown(page) == ["mxnet output D"]
    page.reload()
    assert shown(page) == ["mxnet output D"]

    blocked = page.context.new_page()
    blocked.add_init_script(
        "Object.defineProperty(window, 'localStorage', "
        "{get() { throw new DOMException('blocked', 'SecurityError'); }});"
    )
    blocked.goto(f"{served_fixtures}/switcher.html")
    assert shown(blocked)[:3] == ["pytorch output A", "pytorch text B", "pytorch output B"]
    blocked.locator("[role=tablist]").nth(2).get_by_role("tab", name="PyTorch").click()
    blocked.locator("[role=tablist]").nth(0).get_by_role("tab", name="JAX").click()
    assert shown(blocked) == ["jax output A", "mxnet and jax text B", "pytorch output C"]


# ---------------------------------------------------------------- marks as authors write them

SLOPPY_MARKS = """\
# Marks

```{.python .input}
x = 0
```

```{.python .input}
# %%tab mxnet
x = 1
```

```{.python .input}
# @tab pytorch,jax
x = 2
```

```{.python .input}
#@TAB  jax
x = 3
```
"""


@pytest.mark.parametrize(
    ("tab", "expected"),
    [("pytorch", ["x = 0", "x = 2"]), ("mxnet", ["x = 1"]), ("jax", ["x = 2", "x = 3"])],
)
def test_sloppy_tab_marks_select_their_tab_and_leave_the_code(
    tab: str, expected: list[str]
) -> None:
    document = split_document(parse_markdown(SLOPPY_MARKS, "marks.md"), tab, TABS)
    sources = [cell.source.strip() for cell in document.cells if cell.kind == "code"]
    assert sources == expected


def test_merged_sloppy_marks_show_each_cell_in_its_own_tab_only() -> None:
    document = parse_markdown(SLOPPY_MARKS, "marks.md")
    notebooks = {tab: to_notebook(split_document(document, tab, TABS)) for tab in TABS}
    merged = merge_notebooks(notebooks, TABS)
    shown = [
        (cell.metadata["d2lbook"]["tab"], cell.source.strip())
        for cell in merged.cells
        if cell.cell_type == "code"
    ]
    assert sorted(shown) == [
        ("jax", "x = 2"),
        ("jax", "x = 3"),
        ("mxnet", "x = 1"),
        ("pytorch", "x = 0"),
        ("pytorch", "x = 2"),
    ]
    assert not any("tab" in source.split("\n")[0] for _, source in shown)
