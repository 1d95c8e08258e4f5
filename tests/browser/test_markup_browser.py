"""Every catalogued XSS payload, rendered by markup.render_markdown, stays inert in real headless Chromium.

The rendered fragments go into one page through ``innerHTML`` (as the message stream does), then every element
is hovered, focused and clicked. Nothing may set ``window.__xss``, open a dialog or a window, or request
anything (the beacon payloads point at http://127.0.0.1:9). A control run with the raw, unsanitised payloads
proves the harness does catch script and requests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from support import load_xss_payloads  # tests/support.py

from conferencing_widgets.core.markup import render_markdown

pytestmark = pytest.mark.browser

IN_CI = os.environ.get("CI", "").lower() == "true"
# Put each fragment into its own div with innerHTML, then hover/focus/click every element. Links to
# http(s)/mailto are the user's own choice and would only open a new tab: their default action is prevented
# (so a beacon link is not "a request") but their click handlers still run. Any other link is clicked for real.
_HARNESS_JS = """
async (fragments) => {
  const root = document.getElementById('root');
  root.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a[href]');
    if (a && /^(https?|mailto):$/.test(a.protocol)) { ev.preventDefault(); window.__followed.push(a.href); }
  }, true);
  for (const html of fragments) {
    const div = document.createElement('div');
    div.className = 'payload';
    div.innerHTML = html;
    root.append(div);
  }
  await new Promise((r) => setTimeout(r, 300));  // let onerror/onload/animation/autofocus happen
  const types = ['pointerover', 'pointerenter', 'mouseover', 'mouseenter', 'mousemove', 'pointerdown',
                 'mousedown', 'focusin', 'pointerup', 'mouseup', 'mouseout', 'mouseleave', 'input', 'change'];
  const all = Array.from(root.querySelectorAll('*'));
  for (const el of all) {
    for (const t of types) el.dispatchEvent(new MouseEvent(t, { bubbles: true, cancelable: true }));
    if (typeof el.focus === 'function') el.focus();
    if (typeof el.click === 'function') el.click();
    if (el.tagName === 'DETAILS') el.open = !el.open;
  }
  await new Promise((r) => setTimeout(r, 300));
  return { elements: all.length, divs: root.querySelectorAll('div.payload').length };
}
"""


@dataclass
class Observed:
    """What a page did while the harness ran."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    xss: str = "undefined"
    followed: list[str] = field(default_factory=list)


@pytest.fixture()
def markup_browser(chromium: Any) -> Any:
    """The session's shared headless Chromium (tests/browser/conftest.py): a second sync Playwright in the same
    process would fail while the first one's event loop runs."""
    return chromium


def run_harness(browser: Any, fragments: list[str]) -> Observed:
    """Render fragments in a fresh page, poke every element, and report what happened."""
    seen = Observed()
    context = browser.new_context()
    try:

        def on_route(route: Any) -> None:
            seen.requests.append(route.request.url)
            route.abort()

        context.route("**/*", on_route)
        page = context.new_page()
        page.on("popup", lambda p: seen.popups.append(p.url))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: seen.errors.append(str(e)))
        page.set_content("<!doctype html><html><body><div id='root'></div><script>window.__followed = [];</script>")
        seen.result = page.evaluate(_HARNESS_JS, fragments)
        page.wait_for_timeout(200)
        seen.xss = page.evaluate("typeof window.__xss")
        seen.followed = page.evaluate("window.__followed")
        # A popup that is opened counts as a page of the context besides ours.
        seen.popups.extend(p.url for p in context.pages if p is not page)
    finally:
        context.close()
    return seen


def test_harness_catches_unsanitised_payloads(markup_browser: Any) -> None:
    """Control: the raw payloads (no sanitiser) do run script and load beacons in this harness."""
    raw = [
        "<img src=x onerror=window.__xss=1>",
        "<div onmouseover=window.__xss=1>hover</div>",
        "<img src=http://127.0.0.1:9/xss-control>",
    ]
    seen = run_harness(markup_browser, raw)
    assert seen.xss != "undefined"
    assert any("127.0.0.1:9/xss-control" in url for url in seen.requests)


def test_sanitised_payloads_stay_inert(markup_browser: Any) -> None:
    payloads = load_xss_payloads()
    fragments = [render_markdown(p) for p in payloads]
    seen = run_harness(markup_browser, fragments)
    assert seen.result["divs"] == len(payloads)
    assert seen.result["elements"] > len(payloads)  # the harness really had elements to poke
    assert seen.xss == "undefined", "a payload ran script (window.__xss is set)"
    assert seen.dialogs == []
    assert seen.requests == [], f"requests made: {seen.requests}"
    assert seen.popups == []
    assert seen.errors == []
    # Only http(s)/mailto links were there to follow, and the beacon links among them were clicked.
    assert seen.followed and all(re.match(r"(https?|mailto):", url) for url in seen.followed)
    assert any("127.0.0.1:9/xss-" in url for url in seen.followed)
