"""Checks of a built Jupyter Book's HTML, as plain functions that take the HTML root as a parameter.

tests/test_book.py runs them on the real build (`_build/html`, marked `book`) and on tiny fake
sites made in the tests, so each detector is shown to catch what it is meant to catch.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from bs4 import BeautifulSoup

# $BOOK_DIR points the `book` tests at another book folder (its _toc.yml and _build/html).
ROOT = Path(os.environ.get("BOOK_DIR") or Path(__file__).resolve().parents[1])
TOC = ROOT / "_toc.yml"
HTML_ROOT = ROOT / "_build" / "html"
CHAPTER_DIR = "chapters/"

NOT_BUILT = "the book is not built ({index} is missing): run `make book` first"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NO_BROWSER = ("headless browser check needs {missing}: "
              "`apt-get install chromium chromium-driver` (.ci/run installs them)")


# ----------------------------------------------------------------------------------- the toc

def toc_files(toc_path: Path = TOC) -> list[str]:
    """Every document of a jb-book / jb-article `_toc.yml`, in order, without suffix.

    Walks `root`, then any `parts`, `chapters` and `sections` (nested to any depth); entries with
    `file:` count, `url:` and `glob:` entries do not name a single page and are left out.
    """
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf8")) or {}
    files: list[str] = []

    def strip(name: str) -> str:
        name = str(name).strip().lstrip("/")
        for suffix in (".ipynb", ".md", ".rst", ".myst"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                files.append(strip(node["file"]))
            for key in ("parts", "chapters", "sections"):
                if key in node:
                    walk(node[key])

    if "root" in toc:
        files.append(strip(toc["root"]))
    walk({k: v for k, v in toc.items() if k in ("parts", "chapters", "sections")})
    return files


def chapter_files(files: list[str]) -> list[str]:
    """The toc documents that live under chapters/ (the executed notebooks)."""
    return [f for f in files if f.startswith(CHAPTER_DIR)]


def page_path(html_root: Path, file: str) -> Path:
    return Path(html_root) / f"{file}.html"


def book_missing(html_root: Path) -> str | None:
    """None when `html_root/index.html` exists, else the message the book tests fail with."""
    index = Path(html_root) / "index.html"
    return None if index.is_file() else NOT_BUILT.format(index=index)


# ------------------------------------------------------------------------------------ images

def image_sources(html: str) -> list[str]:
    """Every `src` (and every `srcset` candidate) of every <img> in the page."""
    soup = BeautifulSoup(html, "html.parser")
    sources = []
    for img in soup.find_all("img"):
        sources.append(img.get("src", ""))
        for candidate in (img.get("srcset") or "").split(","):
            if candidate.strip():
                sources.append(candidate.split()[0])
    return sources


def image_problems(page: Path, html_root: Path) -> list[str]:
    """What is wrong with the page's <img> sources: missing files, external or empty sources.

    Relative sources resolve against the page's folder, "/..." against `html_root`; `data:` URIs
    are fine; http(s) and protocol-relative sources fail (the book must work offline), and so do
    files outside `html_root` (they would not be published).
    """
    page, root = Path(page), Path(html_root).resolve()
    problems = []
    for src in image_sources(page.read_text(encoding="utf8")):
        src = src.strip()
        if not src:
            problems.append("<img> without a src")
            continue
        if src.startswith("data:"):
            continue
        parts = urlsplit(src)
        if parts.scheme or parts.netloc:
            problems.append(f"external image (the book must work offline): {src}")
            continue
        path = unquote(parts.path)
        target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
        target = target.resolve()
        if not target.is_relative_to(root):
            problems.append(f"image outside the built site: {src} -> {target}")
        elif not target.is_file():
            problems.append(f"missing image file: {src} -> {target}")
    return problems


# ------------------------------------------------------------------------- error / traceback

TRACEBACK = "Traceback (most recent call last)"
# Text myst-nb / nbclient / jupyter-book put where a notebook failed to execute.
FAILURE_MARKERS = (
    TRACEBACK,
    "Executing notebook failed",
    "Notebook exception traceback saved in",
    "An error occurred while executing the following cell",
    "CellExecutionError",
    "CellTimeoutError",
    "DeadKernelError",
)
# Classes myst-nb (and nbsphinx) give to stderr streams and error outputs.
ERROR_OUTPUT_SELECTORS = "div.output.stderr, div.output.traceback, div.output.error, div.output_stderr"
# "NameError: ...", "ValueError: ...", "Error: ...", "pkg.mod.SomeException: ..." at a line start.
ERROR_LINE = re.compile(r"^[ \t]*(?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception):", re.MULTILINE)
INVISIBLE = ("script", "style", "noscript", "template", "head")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def find_errors(html: str) -> list[str]:
    """Signs of a failed or noisy execution in one HTML page; [] when clean.

    - a stderr / traceback / error output block (class "output stderr" etc.);
    - in a cell's output (`cell_output`), a line starting with an exception name and a colon;
    - anywhere in the visible text except code cells' source: "Traceback (most recent call last)"
      or one of myst-nb / nbclient's execution-failure messages.
    Prose ("the standard error", "a `ValueError` is raised") is not flagged.
    """
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(INVISIBLE):
        tag.decompose()
    found = []
    for block in soup.select(ERROR_OUTPUT_SELECTORS):
        kind = next((c for c in ("stderr", "traceback", "error") if c in block.get("class", [])),
                    "stderr")
        text = block.get_text()
        # for a traceback, its last "SomeError: message" line says the most
        summary = ([m.group(0) for m in re.finditer(ERROR_LINE.pattern + ".*", text, re.M)]
                   or [text])[-1]
        found.append(f"{kind} output: {_short(summary)!r}")
        block.decompose()
    for block in soup.select(".cell_output"):
        for match in ERROR_LINE.finditer(block.get_text()):
            line = block.get_text()[match.start():].splitlines()[0]
            found.append(f"error line in a cell output: {_short(line)!r}")
    for block in soup.select(".cell_input"):
        block.decompose()
    text = soup.get_text()
    for marker in FAILURE_MARKERS:
        for match in re.finditer(re.escape(marker), text):
            context = text[max(0, match.start() - 60): match.end() + 60]
            found.append(f"{marker!r} in the page text: {_short(context)!r}")
    return found


# ------------------------------------------------------------------- what a reader reads

MISSING_MARKERS = re.compile(r"(?<![\w-])(NaN|nan|<NA>)(?![\w-])")


def _visible(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(INVISIBLE):
        tag.decompose()
    for block in soup.select(".cell_input"):
        block.decompose()  # code is allowed to say None
    return soup


def missing_values(html: str) -> list[str]:
    """'NaN' or '<NA>' shown to a reader (in a table or in prose, not in code), or a table cell
    that says only 'None' ("None of these" in prose, or Keras' shape "(None, 512)", are fine)."""
    soup = _visible(html)
    text = soup.get_text(" ")
    found = [f"{m.group(0)!r} shown: {_short(text[max(0, m.start() - 60): m.end() + 60])!r}"
             for m in MISSING_MARKERS.finditer(text)]
    found += [f"a table cell says {cell.get_text(strip=True)!r}" for cell in soup.select("table td")
              if cell.get_text(strip=True) in ("None", "null")]
    return found


def raw_identifiers(html: str, identifiers: set[str]) -> list[str]:
    """Program identifiers (class ids, data-set ids, bibliography keys...) inside a table."""
    found = []
    for cell in _visible(html).select("table th, table td"):
        words = set(re.findall(r"[\w.+-]+", cell.get_text(" ")))
        for ident in sorted(words & identifiers):
            found.append(f"table cell {_short(cell.get_text(' '), 80)!r} shows the identifier {ident!r}")
    return found


def book_identifiers(root: Path = ROOT) -> set[str]:
    """What a reader should never meet in a table: underscored class and column names, the
    manifests' data-set ids, and the keys of references.bib."""
    from xraylib import data as xdata

    keys = set(re.findall(r"@\w+\{([^,\s]+),", (root / "references.bib").read_text(encoding="utf8")))
    return ({"viral_pneumonia", "integrated_gradients", "lung_share", "border_share", "corner_share",
             "lung_area", "border_area", "corner_area", "f1_macro", "accuracy_95ci", "val_accuracy",
             "val_loss", "images_per_s", "train_s", "total_s", "first_epoch_s", "steps_per_epoch"}
            | set(xdata.DATASET_NAMES) | keys)


def figure_ids(html: str) -> set[str]:
    """Ids of the numbered figures on a page (myst-nb `mystnb: figure: name:`)."""
    soup = BeautifulSoup(html, "html.parser")
    return {tag["id"] for tag in soup.select("figure[id], div.figure[id]")
            if tag["id"].startswith("fig-")}


def figure_links(html: str) -> set[str]:
    """The figure ids a page links to (numref and other references)."""
    soup = BeautifulSoup(html, "html.parser")
    return {a["href"].split("#", 1)[1] for a in soup.select("a[href*='#fig-']")
            if "headerlink" not in a.get("class", [])}  # a figure's own permalink is not a reference


def unreferenced_figures(pages: dict[str, str]) -> list[str]:
    """Numbered figures that no page refers to: a figure the text never sends the reader to."""
    linked = set().union(*(figure_links(h) for h in pages.values())) if pages else set()
    return [f"{name}.html: figure {fid} is never referred to" for name, html in pages.items()
            for fid in sorted(figure_ids(html) - linked)]


TRUNCATION = re.compile(r"(\.\.\.|\u2026)$")


def truncated_cells(html: str) -> list[str]:
    """Table cells whose text ends in '...' or '\u2026': pandas cut them (display.max_colwidth)."""
    return [f"table cell cut: {_short(cell.get_text(' ', strip=True), 80)!r}"
            for cell in _visible(html).select("table th, table td")
            if TRUNCATION.search(cell.get_text(" ", strip=True))]


IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\bxraylib\.\w+|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
"""snake_case names, xraylib.module paths and ENVIRONMENT_VARIABLES: what a reader's word replaces."""


def identifier_captions(html: str) -> list[str]:
    """Figure captions that show a program identifier instead of a reader's word."""
    found = []
    for cap in _visible(html).select("figcaption, .caption"):
        text = cap.get_text(" ", strip=True)
        for m in IDENTIFIER.finditer(text):
            found.append(f"figure caption shows {m.group(0)!r}: {_short(text, 80)!r}")
    return found


def broken_internal_links(page: Path, html_root: Path) -> list[str]:
    """Links of a page to other pages of the book (or anchors in them) that do not exist."""
    soup = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    found = []
    for a in soup.select("article a[href], main a[href]"):
        href = a["href"]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("mailto:"):
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.is_file():
            found.append(f"link {href!r} ({a.get_text(strip=True)!r}): no page {target}")
            continue
        if parts.fragment:
            soup_t = BeautifulSoup(target.read_text(encoding="utf8"), "html.parser")
            ids = {t.get("id") for t in soup_t.select("[id]")}
            if parts.fragment not in ids:
                found.append(f"link {href!r} ({a.get_text(strip=True)!r}): "
                             f"no anchor #{parts.fragment} in {target.name}")
    return found


# ----------------------------------------------------------------------------------- browser

def browser_missing() -> str | None:
    """None when chromium and chromedriver are installed, else the message to fail with."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() or shutil.which(p))]
    return NO_BROWSER.format(missing=" and ".join(missing)) if missing else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(html_root: Path):
    """Serve `html_root` on http://127.0.0.1:<free port>/ from a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(html_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def make_driver(user_data_dir: Path):
    """Headless Chromium driven by Debian's chromedriver; no network beyond 127.0.0.1."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={user_data_dir}", "--window-size=1280,2000",
                # offline: any other host fails at once instead of waiting on DNS (e.g. a CDN)
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


_SCROLL_THROUGH = """
window.scrollTo(0, document.documentElement.scrollHeight);
for (const img of document.images) { img.scrollIntoView({block: 'center'}); }
window.scrollTo(0, document.documentElement.scrollHeight);
"""
_LOADED = """
return document.readyState === 'complete'
    && Array.from(document.images).every(img => img.complete);
"""
_IMAGES = """
return Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src || img.getAttribute('src') || '',
    complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}));
"""


def browser_image_problems(driver, url: str, screenshot: Path | None = None,
                           timeout: float = 30.0) -> list[str]:
    """Load `url`, scroll through it, wait for every image, and return the images that failed.

    An image fails if it is still not `complete` after `timeout` s or has naturalWidth 0 (broken
    or undecodable). When `screenshot` is given, the top of the page is saved there as PNG.
    """
    driver.get(url)
    deadline = time.monotonic() + timeout
    while True:
        driver.execute_script(_SCROLL_THROUGH)
        if driver.execute_script(_LOADED) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    images = driver.execute_script(_IMAGES)
    problems = []
    for img in images:
        if not img["complete"]:
            problems.append(f"did not finish loading in {timeout:.0f} s: {img['src']}")
        elif not img["width"] > 0:
            problems.append(f"broken image (naturalWidth 0): {img['src']}")
    if screenshot is not None:
        screenshot = Path(screenshot)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0);")
        if not driver.save_screenshot(str(screenshot)):
            problems.append(f"could not save the screenshot {screenshot}")
    return problems


def screenshot_name(file: str, files: list[str]) -> str:
    """`chapters/01_data` -> `01_data.png`; the whole path (/ -> _) if two pages share a name."""
    name = Path(file).name
    if sum(Path(f).name == name for f in files) > 1:
        name = file.replace("/", "_")
    return f"{name}.png"
