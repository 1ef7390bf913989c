"""The published site works with no network: checked in Debian's Chromium, headless.

The fixture history's site (published by `python -m mind_runner run`) is served
from a loopback HTTP server, and Chromium is started with a proxy that leads
nowhere, so a page that still needed a CDN could not load it. The graph page of
`time_mind_gradient_ir` must then show no asv error and draw its series: each
legend colour must appear in the plot of a screenshot taken with the legend off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import asv
import pytest

from mind_runner.regressions.steps_page import render_page
from mind_runner.site.offline import make_offline
from mind_runner.util.errors import UserError
from tests.conftest import PublishedHistory, copy_project

GRADIENT_TIME = "mind_cli.GradientGeneration.time_mind_gradient_ir"
ASV_ERROR_TEXT = "Can not determine continental origin of swallow"
ASV_WWW = Path(asv.__file__).parent / "www"
# Wide enough that asv's navigation column (200 px) and the plot do not overlap.
WINDOW = (1280, 800)
NAVIGATION_WIDTH = 200


# --------------------------------------------------------------------------------------
# Helpers: page parsing, a loopback server, Chromium, and a PNG reader


class _Loads(HTMLParser):
    """src/href of the tags through which a page fetches something itself."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        url = values.get("src") if tag in ("script", "img") else None
        url = values.get("href") if tag == "link" else url
        if url:
            self.loads.append({"tag": tag, "url": url, **values})


def page_loads(page: Path) -> list[dict[str, str]]:
    parser = _Loads()
    parser.feed(page.read_text())
    return parser.loads


class _Handler(SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requests.append((self.path, int(code) if str(code).isdigit() else 0))


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """`directory` over HTTP on 127.0.0.1 (a free port): base URL and the request log."""
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def chromium(
    tmp_path: Path, url: str, *output: str, window: tuple[int, int] = WINDOW
) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on `url`; every request that is not loopback goes to a dead proxy."""
    executable = shutil.which("chromium")
    assert executable, "chromium not found: `apt-get install -y chromium` (.ci/run does)"
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    command = [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        f"--window-size={window[0]},{window[1]}",
        *output,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            compressed += body
    raw = zlib.decompress(compressed)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    offset = 0
    for _ in range(height):
        filter_type, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if filter_type == 1:
                line[x] = (line[x] + left) & 0xFF
            elif filter_type == 2:
                line[x] = (line[x] + up) & 0xFF
            elif filter_type == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + nearest) & 0xFF
        previous = line
        rgb = bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(rgb)
    return width, height, rows


def pixels_of_colour(rows: list[bytes], colour: tuple[int, int, int], x_from: int) -> int:
    """Pixels within 10 of `colour` in every channel, right of column `x_from`."""
    count = 0
    for row in rows:
        for x in range(x_from, len(row) // 3):
            r, g, b = row[3 * x : 3 * x + 3]
            if abs(r - colour[0]) <= 10 and abs(g - colour[1]) <= 10 and abs(b - colour[2]) <= 10:
                count += 1
    return count


def legend_series(dom: str) -> dict[str, tuple[int, int, int]]:
    """Legend label -> colour of its swatch, from flot's legend table in the DOM."""
    found = re.findall(
        r'border:5px solid rgb\((\d+),\s*(\d+),\s*(\d+)\).*?class="legendLabel">([^<]+)<', dom
    )
    return {label: (int(r), int(g), int(b)) for r, g, b, label in found}


def _sri_matches(data: bytes, integrity: str) -> bool:
    algorithm, _, expected = integrity.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected


# --------------------------------------------------------------------------------------
# The published fixture site


def test_published_site_loads_everything_from_its_own_folder(
    published_history: PublishedHistory,
) -> None:
    html = published_history.project.html_dir
    loads = [load for page in html.glob("*.html") for load in page_loads(page)]
    assert any("vendor/jquery@3.3.1/" in load["url"] for load in loads)
    for load in loads:
        parts = urlsplit(load["url"])
        assert not parts.scheme and not parts.netloc, f"still remote: {load['url']}"
        path = html / parts.path
        assert path.is_file(), f"{load['url']} is not in {html}"
        if "integrity" in load:  # kept only where npm's file is the CDN's byte for byte
            assert _sri_matches(path.read_bytes(), load["integrity"]), load["url"]
    css = (html / "vendor" / "bootstrap@3.1.1" / "dist" / "css" / "bootstrap.min.css").read_text()
    for font in set(re.findall(r"url\(\.\./fonts/([^)?#]+)", css)):
        assert (html / "vendor" / "bootstrap@3.1.1" / "dist" / "fonts" / font).is_file()


@pytest.mark.browser
def test_graph_page_renders_in_chromium_with_no_network(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    project = published_history.project
    index = json.loads((project.html_dir / "index.json").read_text())
    models = [m.strip("'") for m in index["benchmarks"][GRADIENT_TIME]["params"][0]]
    screenshot = tmp_path / "time_mind_gradient_ir.png"
    with serve(project.html_dir) as (base, requests):
        page = f"{base}/index.html#{GRADIENT_TIME}"
        dom = chromium(tmp_path, page, "--dump-dom").stdout
        chromium(tmp_path, page + "?show-legend=false", f"--screenshot={screenshot}")
    print(f"screenshot of the offline graph page: {screenshot}")

    assert ASV_ERROR_TEXT not in dom
    assert re.search(r'id="error-message"[^>]*>\s*</div>', dom), "asv's error dialog has text"
    assert f"<title>airspeed velocity of an unladen {index['project']}</title>" in dom
    main_graph = dom[dom.index('id="main-graph"') :]
    assert '<canvas class="flot-base"' in main_graph[: main_graph.index('id="overview"')]
    failed = [(path, code) for path, code in requests if code != 200]
    assert not failed, failed
    served = [path.split("?")[0] for path, _ in requests]
    assert "/vendor/flot@0.8.3/jquery.flot.js" in served
    assert any(path.endswith(f"/{GRADIENT_TIME}.json") for path in served)

    # One series per model, each drawn: its legend colour in the plot, legend hidden.
    series = legend_series(dom)
    assert sorted(series) == sorted(f"model-{model}" for model in models)
    width, height, rows = read_png(screenshot)
    assert (width, height) == WINDOW
    drawn = {label: pixels_of_colour(rows, rgb, NAVIGATION_WIDTH) for label, rgb in series.items()}
    assert all(count >= 50 for count in drawn.values()), drawn


@pytest.mark.browser
def test_asv_pages_as_shipped_fail_in_the_same_browser(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    """The check above can fail: asv's own index.html (CDN tags) shows asv's error page."""
    site = tmp_path / "html"
    shutil.copytree(published_history.project.html_dir, site)
    shutil.copy2(ASV_WWW / "index.html", site / "index.html")
    with serve(site) as (base, _requests):
        dom = chromium(tmp_path, f"{base}/index.html#{GRADIENT_TIME}", "--dump-dom").stdout
    assert ASV_ERROR_TEXT in dom


# --------------------------------------------------------------------------------------
# make_offline on asv's template pages, without the fixture history


@pytest.fixture
def asv_pages(tmp_path: Path) -> Path:
    """A site folder as `asv publish` starts it: asv's www/ copied."""
    return Path(shutil.copytree(ASV_WWW, tmp_path / "html"))


@pytest.fixture(scope="module")
def npm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One vendor cache for this module's tests: each package is packed by npm once."""
    return tmp_path_factory.mktemp("vendor-cache")


def test_make_offline_twice_rewrites_once_and_reuses_the_cache(
    asv_pages: Path, npm_cache: Path
) -> None:
    cache = npm_cache
    first = make_offline(asv_pages, cache)
    assert [page.name for page in first.pages] == ["index.html"]
    tarballs = sorted(cache.glob("*.tgz"))
    assert len(tarballs) == len({asset.spec for asset in first.vendored})
    mtimes = [t.stat().st_mtime_ns for t in tarballs]
    text = (asv_pages / "index.html").read_text()
    second = make_offline(asv_pages, cache)
    assert second.pages == () and second.vendored == ()
    assert (asv_pages / "index.html").read_text() == text
    assert [t.stat().st_mtime_ns for t in sorted(cache.glob("*.tgz"))] == mtimes


def test_a_corrupt_cached_tarball_is_fetched_again(asv_pages: Path, npm_cache: Path) -> None:
    npm_cache.mkdir(exist_ok=True)
    (npm_cache / "jquery-3.3.1.tgz").write_bytes(b"not a tarball")
    make_offline(asv_pages, npm_cache)
    vendored = asv_pages / "vendor" / "jquery@3.3.1" / "dist" / "jquery.min.js"
    integrity = next(
        load["integrity"]
        for load in page_loads(asv_pages / "index.html")
        if "jquery.min.js" in load["url"]
    )
    assert _sri_matches(vendored.read_bytes(), integrity)


def test_without_npm_and_cache_the_error_says_what_to_install(
    asv_pages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(UserError) as raised:
        make_offline(asv_pages, tmp_path / "cache")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("npm not found") and "apt-get install -y npm" in message


def test_a_library_version_asv_does_not_ship_is_refused(asv_pages: Path, tmp_path: Path) -> None:
    index = asv_pages / "index.html"
    index.write_text(index.read_text().replace("jquery-3.3.1.min.js", "jquery-3.7.1.min.js"))
    with pytest.raises(UserError) as raised:
        make_offline(asv_pages, tmp_path / "cache")
    message = str(raised.value)
    assert "\n" not in message
    assert "https://code.jquery.com/jquery-3.7.1.min.js" in message
    assert "pip install asv==0.6.6" in message


def test_publish_command_writes_an_offline_site(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    """`python -m mind_runner publish` in a copy: asv publish, then the offline step."""
    source = published_history.project
    root = copy_project(tmp_path / "project")
    shutil.copytree(source.root / "results", root / "results")
    completed = subprocess.run(
        [sys.executable, "-m", "mind_runner", "publish", "--no-pull"],
        cwd=root,
        env=source.environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "offline site: 10 files from npm (" in completed.stdout
    assert f"in {root / 'html' / 'vendor'}" in completed.stdout
    loads = page_loads(root / "html" / "index.html")
    assert loads and all(not urlsplit(load["url"]).netloc for load in loads)
    assert (root / "html" / "index.json").read_text() == (
        source.html_dir / "index.json"
    ).read_text()


@pytest.mark.browser
def test_steps_page_is_linked_from_the_index_and_renders_offline(
    published_history: PublishedHistory, tmp_path: Path
) -> None:
    """The exact figures' steps, where users look: a link in asv's navigation bar."""
    html = published_history.project.html_dir
    steps = json.loads((html / "steps.json").read_text())
    listed = [step for machine in steps["machines"] for step in machine["steps"]]
    assert listed, "the fixture history has steps in exact figures"
    with serve(html) as (base, requests):
        index = chromium(tmp_path, f"{base}/index.html", "--dump-dom").stdout
        page = chromium(tmp_path, f"{base}/steps.html", "--dump-dom").stdout
    assert re.search(r'<li id="nav-li-steps"><a href="steps.html">', index)
    assert ASV_ERROR_TEXT not in index
    assert page.count("<tr class=") == len(listed)
    for step in listed:
        assert step["first_after"][:8] in page
    failed = [(path, code) for path, code in requests if code != 200]
    assert not failed, failed


NARROW_WINDOW = (1366, 768)
"""The most common laptop width: the steps page must fit it with no horizontal scroll."""
_MEASURE = (
    "<script>document.body.setAttribute('data-scroll-width', "
    "document.documentElement.scrollWidth)</script></body>"
)


def _long_step(index: int) -> dict[str, object]:
    """A step as steps.json holds it, with the longest names the suite has."""
    good, bad = f"{index:x}" * 40, f"{index + 1:x}" * 40
    benchmark = "mind_correctness.ParameterGradients.track_gradient_verdict"
    return {
        "benchmark": benchmark,
        "params": {"model": "relu_matmul_chain_1000", "parameter": "w1", "engine": "runtime"},
        "unit": "instructions",
        "kind": "regression" if index % 2 else "improvement",
        "last_before": good[:40],
        "first_after": bad[:40],
        "single_commit": index % 3 == 0,
        "commits_between": 56,
        "before": 61_234_567.0,
        "after": 64_345_678.0,
        "change": 0.0508,
        "url": f"https://github.com/star-ga/mind/compare/{good[:40]}...{bad[:40]}",
        "find_command": f"python -m mind_runner find {good[:8]}..{bad[:8]} {benchmark}",
        "undoes": None,
        "undone_by": None,
        "still_present": True,
        "dependency_changes": [bad[:40]],
    }


@pytest.mark.browser
def test_steps_page_fits_a_1366_pixel_window(tmp_path: Path) -> None:
    """Measured in Chromium: the page's scroll width is the window's, so the change column
    (the one that says regression or improvement) is never cut off."""
    document = {
        "rule": {"threshold": 0.01, "spread_factor": 2.0},
        "machines": [
            {
                "machine": "reference-2core-with-a-long-machine-name",
                "env": "virtualenv-py3.11-numpy-torch2.13.0",
                "ordered_by": "git history",
                "commits": ["a" * 40] * 10,
                "measured_not_compared": [
                    {"commit": "b" * 40, "reason": "not on the first-parent line of main"}
                ],
                "steps": [_long_step(index) for index in range(1, 7)],
            }
        ],
    }
    page = render_page(document)
    assert "<details>" in page and "title='mind_correctness.ParameterGradients" in page
    (tmp_path / "steps.html").write_text(page.replace("</body>", _MEASURE))
    with serve(tmp_path) as (base, _):
        dom = chromium(tmp_path, f"{base}/steps.html", "--dump-dom", window=NARROW_WINDOW).stdout
    match = re.search(r'data-scroll-width="(\d+)"', dom)
    assert match, dom[:500]
    assert int(match.group(1)) <= NARROW_WINDOW[0]
