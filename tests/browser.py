"""A live server and a real headless Chromium for end-to-end journeys."""

from __future__ import annotations

import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parent.parent
# axe-core runs the accessibility audit inside the page. It is installed from npm into
# .cache/ (git-ignored) on first use and injected by Playwright: never served to users.
AXE_VERSION = "4.14.1"
AXE_DIR = REPO / ".cache" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# Phone and laptop widths the journeys and the audit run at.
PHONE, LAPTOP = 390, 1280

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def live_server(app):
    """Serve the app on 127.0.0.1 (a free port) in a thread for the length of the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def browser_page(width: int = LAPTOP, **context_options):
    """A page in a fresh headless Chromium, `width` pixels wide (context options as Playwright's)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, **context_options)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


@contextmanager
def browser_sessions(count: int):
    """`count` pages in separate browser contexts: separate cookie jars, as on separate machines."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(count):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(30_000)
                pages.append(page)
            yield pages
        finally:
            browser.close()


def axe_script() -> Path:
    """axe.min.js, installed with npm the first time it is needed."""
    if not AXE_SCRIPT.is_file():
        npm = shutil.which("npm")
        assert npm, "scripts/system-deps.sh installs npm, which fetches axe-core for the accessibility audit"
        subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--no-save",
                        f"axe-core@{AXE_VERSION}"], check=True, capture_output=True, timeout=600)
    return AXE_SCRIPT


def audit(page) -> list[dict]:
    """axe-core's violations on the page as it is now: rule id, impact, help and the elements.

    The page must come from a context made with bypass_csp=True: the app's policy
    rightly refuses the injected script.
    """
    page.add_script_tag(path=str(axe_script()))
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                             targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
    }""")


def page_overflow(page) -> int:
    """How many pixels the page is wider than the window: 0 when nothing scrolls sideways."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
