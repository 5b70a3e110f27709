"""Checks of the built HTML book (`make book`, then `make book-check`), and of the checks themselves.

Tests marked `book` read `_build/html` and fail (not skip) when it is missing: run `make book`
first. The tests at the bottom, without the marker, run the detectors on small fake pages so
`make unit` shows they catch what they should and leave prose alone.
"""
from __future__ import annotations

import base64
import io
import re

import _book_helpers as bh
import pytest
from PIL import Image

TOC_FILES = bh.toc_files()
CHAPTERS = bh.chapter_files(TOC_FILES)
HTML_ROOT = bh.HTML_ROOT
SCREENSHOTS = HTML_ROOT.parent / "screenshots"

book = pytest.mark.book


def require_book() -> None:
    message = bh.book_missing(HTML_ROOT)
    if message:
        pytest.fail(message, pytrace=False)


def require_browser() -> None:
    message = bh.browser_missing()
    if message:
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """get(): one headless Chromium for the whole module, started on first use, quit at the end."""
    drivers = []

    def get():
        require_browser()
        if not drivers:
            drivers.append(bh.make_driver(tmp_path_factory.mktemp("chromium-profile")))
        return drivers[0]

    yield get
    for driver in drivers:
        driver.quit()


@pytest.fixture(scope="module")
def book_url():
    """Base URL of `_build/html` served over http on 127.0.0.1 (a free port); None if not built."""
    if bh.book_missing(HTML_ROOT):
        yield None
        return
    with bh.serve(HTML_ROOT) as url:
        yield url


def fail_on(problems: list[str], where: str) -> None:
    if problems:
        pytest.fail(f"{where}:\n  " + "\n  ".join(problems), pytrace=False)


# ------------------------------------------------------------------------ the real build

@book
def test_book_is_built():
    require_book()
    assert CHAPTERS, f"no chapters/ entries in {bh.TOC}"


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_toc_entry_has_a_page(file):
    require_book()
    page = bh.page_path(HTML_ROOT, file)
    assert page.is_file(), f"{file} is in _toc.yml but {page} was not built"


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_page_images_exist(file):
    require_book()
    page = bh.page_path(HTML_ROOT, file)
    assert page.is_file(), f"{page} was not built"
    fail_on(bh.image_problems(page, HTML_ROOT), f"{file}.html")
    if file in CHAPTERS and not bh.image_sources(page.read_text(encoding="utf8")):
        pytest.fail(f"{file}.html has no image (every chapter should show at least one)",
                    pytrace=False)


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_page_has_no_error_output(file):
    require_book()
    page = bh.page_path(HTML_ROOT, file)
    assert page.is_file(), f"{page} was not built"
    fail_on(bh.find_errors(page.read_text(encoding="utf8")), f"{file}.html")


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_page_shows_no_missing_value_marker(file):
    require_book()
    fail_on(bh.missing_values(bh.page_path(HTML_ROOT, file).read_text(encoding="utf8")), f"{file}.html")


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_page_tables_show_no_program_identifiers(file):
    require_book()
    html = bh.page_path(HTML_ROOT, file).read_text(encoding="utf8")
    fail_on(bh.raw_identifiers(html, bh.book_identifiers()), f"{file}.html")


@book
def test_every_numbered_figure_is_referred_to_somewhere():
    require_book()
    pages = {f: bh.page_path(HTML_ROOT, f).read_text(encoding="utf8") for f in TOC_FILES}
    assert any(bh.figure_ids(h) for h in pages.values()), "no numbered figure found: the check is blind"
    fail_on(bh.unreferenced_figures(pages), "figures")


def _headline_cells(html: str) -> dict[tuple[str, str], str]:
    soup = bh.BeautifulSoup(html, "html.parser")
    table = next(t for t in soup.select("table") if "initial test: one study" in t.get_text())
    columns = [th.get_text(" ", strip=True) for th in table.select("thead th")][1:]
    cells = {}
    for row in table.select("tbody tr"):
        name = row.select_one("th").get_text(" ", strip=True)
        for column, td in zip(columns, row.select("td")):
            cells[(name, column)] = td.get_text(" ", strip=True)
    return cells


@book
def test_the_abstracts_numbers_are_the_chapters_numbers():
    """The opening page's table and the Results chapter compute the same numbers by different
    functions; the Conclusions quote the seed spreads: all must agree."""
    require_book()
    read = lambda f: bh.page_path(HTML_ROOT, f).read_text(encoding="utf8")  # noqa: E731
    cells = _headline_cells(read("intro"))
    results = " ".join(bh._visible(read("chapters/05_results")).get_text(" ").split())
    conclusions = " ".join(bh._visible(read("chapters/12_conclusions")).get_text(" ").split())
    checked = 0
    for protocol in ("the paper's text", "the paper's network with the authors' code settings"):
        for column in ("initial test: one study (95% CI)", "cross-validation: one study (95% CI)"):
            value = cells[(protocol, column)].replace("%", "")
            assert value in results, f"abstract {protocol} / {column}: {value!r} is not in the Results chapter"
            checked += 1
        for column in ("initial test: mean over seeds (range)", "cross-validation: mean over seeds (range)"):
            value = cells[(protocol, column)].split(",")[0]
            assert value in conclusions, f"abstract {protocol} / {column}: {value!r} is not in the Conclusions"
            checked += 1
    assert checked == 8


@book
@pytest.mark.parametrize("file", CHAPTERS)
def test_chapter_images_render_in_a_browser(file, book_url, browser):
    require_book()
    page = bh.page_path(HTML_ROOT, file)
    assert page.is_file(), f"{page} was not built"
    shot = SCREENSHOTS / bh.screenshot_name(file, CHAPTERS)
    problems = bh.browser_image_problems(browser(), f"{book_url}{file}.html", shot)
    fail_on(problems, f"{file}.html in Chromium")


@book
def test_browser_check_catches_a_broken_image(tmp_path, browser):
    """The browser check itself, on a fake site: a good PNG passes, a corrupt one is reported."""
    site = _fake_site(tmp_path)
    (site / "_images" / "bad.png").write_bytes(b"not a png at all")
    with bh.serve(site) as url:
        assert bh.browser_image_problems(browser(), f"{url}chapters/01_good.html",
                                         tmp_path / "shots" / "good.png") == []
        problems = bh.browser_image_problems(browser(), f"{url}chapters/02_bad.html")
    assert (tmp_path / "shots" / "good.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(problems) == 1 and "bad.png" in problems[0], problems


# --------------------------------------------------------- the detectors, on fake pages

def _png(width: int = 3, height: int = 2) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()

CELL = """<div class="cell docutils container">
<div class="cell_input docutils container"><div class="highlight-ipython3 notranslate">
<div class="highlight"><pre><span></span>{source}</pre></div></div></div>
<div class="cell_output docutils container">{output}</div></div>"""
STREAM = ('<div class="output {kind} highlight-myst-ansi notranslate"><div class="highlight">'
          '<pre><span></span>{text}</pre></div></div>')
TRACEBACK = ('<div class="output traceback highlight-ipythontb notranslate"><div class="highlight">'
             '<pre><span></span><span class="gt">-----</span>\n'
             '<span class="ne">{name}</span>   Traceback (most recent call last)\n'
             'Cell In[3], line 1\n<span class="ne">{name}</span>: {msg}\n</pre></div></div>')


def _page(body: str) -> str:
    return (f"<!DOCTYPE html><html><head><title>t</title>"
            f"<script>const x = 'Traceback (most recent call last)';</script></head>"
            f"<body><main>{body}</main></body></html>")


def _fake_site(tmp_path):
    site = tmp_path / "html"
    (site / "chapters").mkdir(parents=True)
    (site / "_images").mkdir()
    (site / "_images" / "good.png").write_bytes(PNG)
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (site / "intro.html").write_text(_page("<h1>Intro</h1><p>No images here.</p>"))
    (site / "chapters" / "01_good.html").write_text(_page(
        '<h1>Good</h1><img loading="lazy" alt="a" src="../_images/good.png" />'
        '<div style="height:5000px"></div>'
        '<img loading="lazy" alt="b" src="/_images/good.png" />'
        f'<img alt="inline" src="data:image/png;base64,{base64.b64encode(PNG).decode()}" />'))
    (site / "chapters" / "02_bad.html").write_text(_page(
        '<h1>Bad</h1><div style="height:3000px"></div>'
        '<img alt="bad" src="../_images/bad.png" />'))
    return site


def test_toc_files_walks_root_parts_chapters_and_nested_sections(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("""
format: jb-book
root: intro
parts:
  - caption: One
    chapters:
      - file: chapters/01_data
        sections:
          - file: chapters/01a_more.ipynb
            sections:
              - file: chapters/01b_deep
      - url: https://example.org
        title: external
  - caption: Two
    chapters:
      - file: chapters/02_model.md
""")
    files = bh.toc_files(toc)
    assert files == ["intro", "chapters/01_data", "chapters/01a_more", "chapters/01b_deep",
                     "chapters/02_model"]
    assert bh.chapter_files(files) == files[1:]


def test_toc_files_reads_the_projects_toc():
    assert TOC_FILES[0] == "intro"
    assert CHAPTERS and all(f.startswith("chapters/") for f in CHAPTERS)


def test_book_missing_says_run_make_book(tmp_path):
    assert "run `make book` first" in bh.book_missing(tmp_path)
    assert bh.book_missing(_fake_site(tmp_path)) is None


def test_image_problems_on_a_fake_site(tmp_path):
    site = _fake_site(tmp_path)
    assert bh.image_problems(site / "chapters" / "01_good.html", site) == []
    assert bh.image_problems(site / "chapters" / "02_bad.html", site) == [
        f"missing image file: ../_images/bad.png -> {(site / '_images' / 'bad.png').resolve()}"]
    page = site / "chapters" / "03.html"
    page.write_text(_page(
        '<img src="https://cdn.example.org/x.png"/><img src="//cdn.example.org/y.png"/>'
        '<img src="../../outside.png"/><img alt="no src"/>'
        '<img src="../_images/good.png" srcset="../_images/good.png 1x, ../_images/2x.png 2x"/>'
        '<img src="../_images/good.png?v=3#frag"/>'))
    (tmp_path / "outside.png").write_bytes(PNG)
    problems = bh.image_problems(page, site)
    assert [p.split(":")[0] for p in problems] == [
        "external image (the book must work offline)", "external image (the book must work offline)",
        "image outside the built site", "<img> without a src", "missing image file"]
    assert "2x.png" in problems[-1]


def test_find_errors_leaves_clean_pages_and_prose_alone():
    prose = """<h1>Results</h1>
<p>The standard error of the mean is 0.02; Error bars show the standard error.</p>
<p>A <code class="docutils literal notranslate"><span class="pre">ValueError</span></code>
is raised when the manifest is wrong, and a NameError means a typo.</p>
<p>Error: prose that happens to start with it is not an output.</p>
<pre>KeyError: in a prose code block, not a cell output</pre>"""
    cells = (CELL.format(source="raise ValueError('x')  # Traceback (most recent call last)",
                         output=STREAM.format(kind="stream", text="mean error: 0.12\nTest Error: 3%"))
             + CELL.format(source="df", output='<div class="output text_html"><table><tr>'
                                                '<th>Error</th><td>0.1</td></tr></table></div>'))
    assert bh.find_errors(_page(prose + cells)) == []


@pytest.mark.parametrize("output, expected", [
    (STREAM.format(kind="stderr", text="UserWarning: something"), "stderr output"),
    (TRACEBACK.format(name="NameError", msg="name 'x' is not defined"), "traceback output"),
    (STREAM.format(kind="stream", text="ok\nValueError: bad value"), "error line in a cell output"),
    (STREAM.format(kind="stream", text="ModuleNotFoundError: No module named 'foo'"),
     "error line in a cell output"),
    (STREAM.format(kind="stream", text="  tensorflow.errors.InvalidArgumentError: shapes"),
     "error line in a cell output"),
    (STREAM.format(kind="stream", text="Error: the data folder is missing"),
     "error line in a cell output"),
    ('<div class="output text_plain"><pre>Traceback (most recent call last):\n  File "x"\n'
     'KeyError: 3</pre></div>', "'Traceback (most recent call last)' in the page text"),
])
def test_find_errors_flags_error_outputs(output, expected):
    errors = bh.find_errors(_page(CELL.format(source="run()", output=output)))
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize("text", [
    "Traceback (most recent call last):",
    "Executing notebook failed: CellExecutionError",
    "An error occurred while executing the following cell:",
    "Notebook exception traceback saved in: /tmp/x.log",
])
def test_find_errors_flags_execution_failure_text_anywhere_visible(text):
    assert bh.find_errors(_page(f"<p>{text}</p>"))
    assert not bh.find_errors(_page(f"<script>let s = '{text}';</script>"))


def test_screenshot_name():
    assert bh.screenshot_name("chapters/01_data", ["chapters/01_data"]) == "01_data.png"
    assert bh.screenshot_name("chapters/a/x", ["chapters/a/x", "chapters/b/x"]) == "chapters_a_x.png"


def test_missing_value_markers_are_caught_in_tables_and_prose_but_not_in_code():
    assert bh.missing_values(_page("<table><tr><td>NaN</td></tr></table>"))
    assert bh.missing_values(_page("<p>the accuracy was nan%</p>"))
    assert bh.missing_values(_page("<table><tr><td>None</td></tr></table>"))
    assert not bh.missing_values(_page('<div class="cell_input"><pre>x = float("nan")</pre></div><p>Nancy</p>'))
    assert not bh.missing_values(_page("<p>None of these</p><table><tr><td>(None, 512)</td></tr></table>"))


def test_identifiers_are_caught_in_table_cells_only():
    ids = {"viral_pneumonia", "wang2020covidnet"}
    assert bh.raw_identifiers(_page("<table><tr><th>viral_pneumonia</th></tr></table>"), ids)
    assert bh.raw_identifiers(_page("<table><tr><td>wang2020covidnet</td></tr></table>"), ids)
    assert not bh.raw_identifiers(_page("<table><tr><td>viral pneumonia</td></tr></table><p>viral_pneumonia</p>"), ids)


def test_the_projects_identifiers_hold_class_ids_data_set_ids_and_bibliography_keys():
    ids = bh.book_identifiers()
    assert {"viral_pneumonia", "nih-chestxray14-no-finding", "ahmed2020"} <= ids


def test_a_figure_nobody_refers_to_is_reported():
    fig = ('<figure id="fig-a"><img src="a.png"></figure><figure id="fig-b"><img src="b.png">'
           '<figcaption><a class="headerlink" href="#fig-b">#</a></figcaption></figure>')
    pages = {"one": _page(fig), "two": _page('<a href="one.html#fig-a">Fig. 1</a>')}
    assert bh.unreferenced_figures(pages) == ["one.html: figure fig-b is never referred to"]


# ---------------------------------------------------------------------------------------------
# xraylib.book: the helpers the chapters call, and re-executing a notebook in place


def test_glue_returns_its_value_and_banner_prints_the_profile(capsys):
    from xraylib import book as xbook
    from xraylib.config import get_profile

    assert xbook.glue("unit_test_value", 42.5) == 42.5
    xbook.banner(get_profile("quick"))
    assert capsys.readouterr().out.strip() == get_profile("quick").describe()


def test_execute_in_place_stores_the_outputs_and_drops_stderr(tmp_path):
    import nbformat

    from xraylib import book as xbook

    path = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nprint(6 * 7)\nprint('noise', file=sys.stderr)")]
    nbformat.write(nb, path)
    xbook.execute_in_place([str(path)], timeout=120)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [(o["name"], o["text"]) for o in outputs] == [("stdout", "42\n")]
# Issue 21: no cut table cell, no identifier as a figure title, every checklist link resolves.

@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_page_tables_cut_no_cell(file):
    require_book()
    fail_on(bh.truncated_cells(bh.page_path(HTML_ROOT, file).read_text(encoding="utf8")), f"{file}.html")


@book
@pytest.mark.parametrize("file", TOC_FILES)
def test_figure_captions_show_no_program_identifier(file):
    require_book()
    fail_on(bh.identifier_captions(bh.page_path(HTML_ROOT, file).read_text(encoding="utf8")), f"{file}.html")


@book
def test_every_checklist_link_resolves():
    require_book()
    page = bh.page_path(HTML_ROOT, "chapters/13_checklist")
    html = page.read_text(encoding="utf8")
    links = bh.BeautifulSoup(html, "html.parser").select("table a[href]")
    assert len(links) >= 60, f"only {len(links)} links in the checklist tables: the check is blind"
    fail_on(bh.broken_internal_links(page, HTML_ROOT), "13_checklist.html")


def test_a_cut_cell_is_caught_and_a_whole_one_is_not():
    html = "<table><tr><td>the paper's network with the authors' co...</td><td>ends well</td>" \
           "<td>cut \u2026</td></tr></table><p>prose may end so...</p>"
    found = bh.truncated_cells(html)
    assert len(found) == 2 and "co..." in found[0]


def test_identifiers_in_captions_are_caught_and_words_are_not():
    html = "<figure><figcaption>Maps of integrated_gradients and xraylib.saliency, XRAYLIB_DATA</figcaption></figure>" \
           "<figure><figcaption>Grad-CAM and Integrated Gradients</figcaption></figure>"
    found = bh.identifier_captions(html)
    assert len(found) == 3


def test_a_link_to_a_missing_page_or_anchor_is_caught(tmp_path):
    (tmp_path / "a.html").write_text('<main><a href="b.html#here">ok</a><a href="b.html#gone">x</a>'
                                     '<a href="c.html">y</a><a href="https://example.org">ext</a></main>')
    (tmp_path / "b.html").write_text('<main><h2 id="here">h</h2></main>')
    found = bh.broken_internal_links(tmp_path / "a.html", tmp_path)
    assert len(found) == 2 and "#gone" in found[0] and "c.html" in found[1]


@book
def test_glued_text_is_not_rendered_in_bold():
    """myst-nb styles {glue:text} bold; the book's own CSS (_static/book.css) sets it back to prose."""
    require_book()
    page = bh.page_path(HTML_ROOT, "intro").read_text(encoding="utf8")
    assert "pasted-text" in page, "no glued text on the opening page: the check is blind"
    sheets = [bh.unquote(h.split("?")[0]) for h in re.findall(r'<link[^>]+href="([^"]+\.css[^"]*)"', page)]
    rules = " ".join((HTML_ROOT / s).read_text(encoding="utf8") for s in sheets if (HTML_ROOT / s).is_file())
    last = re.findall(r"span\.pasted-text\s*\{[^}]*font-weight:\s*([\w-]+)", rules)
    assert last and last[-1] in ("inherit", "normal"), f"glued text is styled font-weight {last[-1:]}"
