"""The documentation site works in a real browser with no network beyond 127.0.0.1.

The site is built with `mkdocs build --strict` into a temporary folder and served on 127.0.0.1.
Debian's Chromium (headless) opens the pages, driven over the DevTools protocol, and the tests check
that:

- Swagger UI, in the API page's iframe, lists every operation of docs/reference/openapi.json
  (method, path and summary), among them `POST /api/v1/executions` "Submit a script";
- the architecture page's mermaid diagrams render, with the vendored mermaid;
- no request the site made left 127.0.0.1: neither in the page's own requests (DevTools
  `Network.requestWillBeSent`, iframes included) nor in Chromium's net log, which records every
  request of the browser process. Chromium's own background traffic (its updater, account and
  time services, which carry no initiator from our origin) is told apart and not held against
  the site. `--host-resolver-rules` maps every other host name to NOTFOUND, so a regression fails
  at once instead of waiting on a network;
- no built page loads a script, style sheet, image or frame from an absolute URL.

CI installs chromium (scripts/install-system-deps.sh): there a missing browser fails the test.
Elsewhere it is skipped with the line to install it.
"""

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.chromium import chromium_executable, is_local, made_by_the_site, net_log_requests

ROOT = Path(__file__).resolve().parents[3]
MKDOCS_YML = ROOT / "mkdocs.yml"
OPENAPI = ROOT / "docs" / "reference" / "openapi.json"
BROWSER_TIMEOUT = 30.0


# ---------------------------------------------------------------- the site, built and served


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [
            *(sys.executable, "-m", "mkdocs", "build", "--strict"),
            *("--config-file", str(MKDOCS_YML), "--site-dir", str(site_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}{build.stderr}"
    return site_dir


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, name="docs-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------- headless Chromium over DevTools


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    # Chromium's own page-triggered services (autofill predictions, translation, hints) would
    # call Google on behalf of our pages; the site must be judged without them.
    "--disable-features=AutofillServerCommunication,Translate,OptimizationHints,"
    "NetworkTimeServiceQuerying,MediaRouter",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--net-log-capture-mode=Default",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,2000",
)


class Browser:
    """A DevTools connection to the one tab of a headless Chromium, and what that tab requested."""

    def __init__(self, socket: ClientConnection, net_log: Path) -> None:
        self.socket = socket
        self.net_log = net_log
        self.page_requests: list[str] = []
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.send("Network.enable")
        self.send("Page.enable")

    def _receive(self, deadline: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        )
        if message.get("method") == "Network.requestWillBeSent":
            self.page_requests.append(message["params"]["request"]["url"])
        if "method" in message:
            self._events.append(message)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message_id = self._next_id
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            message = self._receive(deadline)
            if message.get("id") == message_id:
                if "error" in message:
                    raise AssertionError(f"DevTools {method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (scripts may still render afterwards)."""
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while not any(event["method"] == "Page.loadEventFired" for event in self._events):
            self._receive(deadline)

    def evaluate(self, expression: str) -> Any:
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_until(self, expression: str, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy: the pages render asynchronously."""
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen within {BROWSER_TIMEOUT:g} s")
            time.sleep(0.1)  # poll interval, bounded by the deadline above


def devtools_page_url(process: "subprocess.Popen[bytes]", profile: Path) -> str:
    """The DevTools WebSocket of the browser's tab, once Chromium has opened its port."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + BROWSER_TIMEOUT
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None:
            raise AssertionError(f"chromium exited at start with status {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError("chromium did not open its DevTools port in time")
        time.sleep(0.05)  # poll interval, bounded by the deadline above
    port = port_file.read_text().split()[0]
    url = f"http://127.0.0.1:{port}/json/list"
    with urllib.request.urlopen(url, timeout=10) as answer:
        targets = json.load(answer)
    return str(
        next(target for target in targets if target["type"] == "page")["webSocketDebuggerUrl"]
    )


def stop(process: "subprocess.Popen[bytes]") -> None:
    """Wait for Chromium to exit (it finishes its net log); signal its process group if it hangs."""
    for stop_signal in (None, signal.SIGINT, signal.SIGKILL):
        if stop_signal is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, stop_signal)
        try:
            process.wait(timeout=15)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # helpers left behind, if any


@contextlib.contextmanager
def chromium(workdir: Path) -> Iterator[Browser]:
    """A fresh headless Chromium; when the block ends it is closed and its net log complete."""
    executable = chromium_executable()
    profile, net_log = workdir / "profile", workdir / "net-log.json"
    process = subprocess.Popen(
        [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--log-net-log={net_log}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so cleanup reaches every helper
    )
    try:
        with connect(devtools_page_url(process, profile), max_size=None, open_timeout=20) as socket:
            try:
                yield Browser(socket, net_log)
            finally:
                with contextlib.suppress(Exception):
                    socket.send(json.dumps({"id": 0, "method": "Browser.close"}))
    finally:
        stop(process)


# ---------------------------------------------------------------- what leaves the machine


class ResourceTags(HTMLParser):
    """Addresses a page loads by itself: scripts, style sheets, icons, images, frames, media."""

    LOADING_LINKS: ClassVar[frozenset[str]] = frozenset(
        {"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed"):
            self.urls.append(values.get("src", ""))
        elif tag == "link" and self.LOADING_LINKS & set(values.get("rel", "").split()):
            self.urls.append(values.get("href", ""))


# ---------------------------------------------------------------- the tests


def operations_in_spec() -> set[tuple[str, str, str]]:
    spec = json.loads(OPENAPI.read_text())
    return {
        (method.upper(), path, operation.get("summary", ""))
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


SWAGGER_OPERATIONS = """
(() => {
  const frame = document.querySelector("iframe.swagger-ui-iframe");
  const doc = frame && frame.contentDocument;
  if (!doc) return null;
  const blocks = [...doc.querySelectorAll(".opblock")];
  if (!blocks.length) return null;
  const text = (el) => el ? el.textContent.replace(/\\u200b/g, "").trim() : "";
  return blocks.map((block) => [
    text(block.querySelector(".opblock-summary-method")),
    text(block.querySelector(".opblock-summary-path")),
    text(block.querySelector(".opblock-summary-description")),
  ]);
})()
"""


def check_swagger_ui_lists_the_api(browser: Browser, base_url: str) -> None:
    browser.open(f"{base_url}/reference/api/")
    rendered = browser.wait_until(SWAGGER_OPERATIONS, "Swagger UI operations in the API page")
    listed = {(method, path, summary) for method, path, summary in rendered}
    assert ("POST", "/api/v1/executions", "Submit a script") in listed
    assert {path for _, path, _ in listed} >= {
        "/api/v1/executions",
        "/api/v1/executions/{execution_id}",
        "/api/v1/executions/{execution_id}/cancel",
        "/api/v1/executions/{execution_id}/events",
    }
    assert listed == operations_in_spec(), "Swagger UI does not list exactly the spec's operations"
    swagger_text = browser.evaluate(
        "document.querySelector('iframe.swagger-ui-iframe').contentDocument.body.innerText"
    )
    assert "/api/v1/executions" in swagger_text.replace("\u200b", "")
    assert "Submit a script" in swagger_text


def check_diagrams_render(browser: Browser, base_url: str) -> None:
    browser.open(f"{base_url}/architecture/")
    assert browser.evaluate("typeof window.mermaid") == "object", "the vendored mermaid is missing"
    # Material replaces each <pre class="mermaid"> source with a <div class="mermaid"> holding
    # the SVG (in a closed shadow root); a diagram that fails to render stays a <pre>.
    rendered = browser.wait_until(
        """(() => {
          const sources = document.querySelectorAll("pre.mermaid").length;
          const diagrams = [...document.querySelectorAll("div.mermaid")];
          return sources === 0 && diagrams.length > 0
            && diagrams.every((d) => d.getBoundingClientRect().height > 40) && diagrams.length;
        })()""",
        "rendered mermaid diagrams on the architecture page",
    )
    source = (ROOT / "docs" / "architecture.md").read_text()
    assert rendered == source.count("```mermaid")


def test_site_in_headless_chromium_renders_api_and_diagrams_locally(
    site: Path, base_url: str, tmp_path: Path
) -> None:
    pages = sorted(
        str(page.parent.relative_to(site)) for page in site.rglob("index.html")
    )  # every page of the site ("." is the home page)
    failures: list[AssertionError] = []
    with chromium(tmp_path) as browser:
        for check in (check_swagger_ui_lists_the_api, check_diagrams_render):
            try:
                check(browser, base_url)
            except AssertionError as failure:  # reported after the network checks below
                failures.append(failure)
        for page in pages:
            browser.open(f"{base_url}/{page}/".replace("/./", "/"))
        requested = list(browser.page_requests)

    # What the pages (and their frames) asked for, as DevTools saw it.
    remote = sorted({url for url in requested if not is_local(url)})
    assert not remote, f"the pages requested addresses outside 127.0.0.1: {remote}"
    assert f"{base_url}/reference/openapi.json" in requested
    assert f"{base_url}/assets/vendor/mermaid/mermaid.min.js" in requested

    # What the whole browser process asked for, as its net log recorded it.
    requests = net_log_requests(browser.net_log)
    from_site = [request for request in requests if made_by_the_site(request)]
    assert any(
        request["url"].startswith(f"{base_url}/reference/api/swagger-") for request in from_site
    ), "the net log misses the Swagger UI frame: it is not recording the site's requests"
    leaked = sorted({request["url"] for request in from_site if not is_local(request["url"])})
    assert not leaked, f"the net log shows requests of the site outside 127.0.0.1: {leaked}"

    # Rendering, last: a CDN fetch that was blocked shows above as a leak, the clearer message.
    if failures:
        raise failures[0]


def test_built_pages_load_nothing_from_absolute_urls(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert any(page.name.startswith("swagger-") for page in pages), "no Swagger UI frame built"
    absolute = []
    for page in pages:
        parser = ResourceTags()
        parser.feed(page.read_text())
        for url in parser.urls:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                absolute.append(f"{page.relative_to(site)}: {url}")
    assert not absolute, "pages load resources from absolute URLs:\n  " + "\n  ".join(absolute)
