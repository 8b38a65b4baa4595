#!/usr/bin/env python3
"""Look at the built book in a real browser, as a reader would, and fail on what a reader meets.

Usage (from the repository root, after `jupyter-book build .`):

    python .ci/browser-check.py [_build/html] [--only PAGE_SUBSTRING ...]

It serves the HTML over HTTP on 127.0.0.1 (as GitHub Pages does), opens every page in headless
Chromium (Debian's `chromium`, driven by Playwright's Python API; no browser is downloaded) and
checks, page by page:

  console   no error in the browser console, no uncaught exception, no failed request
  maths     every formula typeset by MathJax: no raw TeX left, no MathJax error
  images    every image loaded (and, reported but not failed on: its alt text is not a file name)
  mermaid   every diagram drawn, its text at least 10 px on screen
  width     at 1280 px, no code cell or output wider than its box, no formula cut off (a formula
            in a scroll box of its own is fine if the box lies inside the column), nothing that
            widens the column itself
  phone     at 390 px, the menu button opens the chapter list (and, at 1280 px, the sidebar
            button hides it)

and the weight of each page on a first visit (empty cache; sizes as served, uncompressed). It
prints a summary and exits 1 when any check failed. When the browser or Playwright is missing it
says so and exits 0 (.ci/run installs both where it can).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MIN_DIAGRAM_FONT_PX = 10.0
SKIP_DIRS = {
    "_static",
    "_sources",
    "_images",
    "_sphinx_design_static",
    "_panels_static",
}

# Everything measured in the page, in one script: returns a dict of findings.
MEASURE_JS = r"""
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Wait for MathJax and Mermaid to finish (at most 15 s).
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  const diagrams = () => Array.from(document.querySelectorAll("pre.mermaid"));
  for (let i = 0; i < 150 && diagrams().some((d) => !d.querySelector("svg")); i++) await sleep(100);

  const out = {};
  const article = document.querySelector("article.bd-article") || document.body;
  const col = article.getBoundingClientRect();
  out.column_px = Math.round(article.clientWidth);
  out.column_overflow_px = Math.max(0, article.scrollWidth - article.clientWidth);

  // Maths: raw TeX left in the text (outside code), MathJax errors, unrendered math nodes.
  const clone = article.cloneNode(true);
  clone.querySelectorAll("pre, code, mjx-container, script, style, .highlight")
    .forEach((e) => e.remove());
  const text = clone.textContent;
  const tex = /\\\(|\\\[|\\begin\{|\$\$|\\frac\{|\\sum_/g;
  const raw = text.match(tex) || [];
  const at = text.search(tex);
  out.raw_tex = raw.length;
  out.raw_tex_sample = at < 0 ? "" : text.slice(Math.max(0, at - 40), at + 60).replace(/\s+/g, " ");
  out.math_errors = document.querySelectorAll("mjx-merror, [data-mjx-error]").length;
  out.formulas = document.querySelectorAll("mjx-container").length;

  // Images.
  const imgs = Array.from(article.querySelectorAll("img"));
  out.images = imgs.length;
  out.broken_images = imgs.filter((i) => !i.complete || i.naturalWidth === 0)
    .map((i) => i.getAttribute("src"));
  out.alt_missing = imgs.filter((i) => {
    const alt = (i.getAttribute("alt") || "").trim();
    return !alt || /\.(png|jpe?g|svg|gif)$/i.test(alt) || /^[0-9a-f]{16,}/.test(alt);
  }).length;

  // Mermaid: drawn, no syntax error, smallest text on screen.
  out.diagrams = [];
  for (const d of diagrams()) {
    const svg = d.querySelector("svg");
    const info = { drawn: !!svg, error: false, min_font_px: null };
    if (svg) {
      info.error = /Syntax error|Parse error/i.test(svg.textContent);
      const scale = svg.getScreenCTM() ? svg.getScreenCTM().a : 1;
      let min = Infinity;
      const labels = "text, foreignObject div, foreignObject span, foreignObject p";
      svg.querySelectorAll(labels).forEach((t) => {
        if (!t.textContent.trim()) return;
        const px = parseFloat(getComputedStyle(t).fontSize) * scale;
        if (px > 0 && px < min) min = px;
      });
      info.min_font_px = min === Infinity ? null : Math.round(min * 10) / 10;
      info.width_px = Math.round(svg.getBoundingClientRect().width);
    }
    out.diagrams.push(info);
  }

  // Width: code inputs and outputs that scroll sideways, formulas cut off or outside the column.
  const wide = (sel) => Array.from(article.querySelectorAll(sel))
    .filter((e) => e.scrollWidth > e.clientWidth + 1);
  const lines = (e) => Math.max(0, ...e.textContent.split("\n").map((l) => l.length));
  const inputs = Array.from(article.querySelectorAll("div.cell_input pre"));
  const outputs = Array.from(article.querySelectorAll("div.cell_output pre"));
  out.code_cells = inputs.length;
  out.wide_inputs = inputs.filter((e) => e.scrollWidth > e.clientWidth + 1).length;
  out.wide_outputs = outputs.filter((e) => e.scrollWidth > e.clientWidth + 1).length;
  out.longest_input_line = inputs.length ? Math.max(...inputs.map(lines)) : 0;
  out.wide_other_code = wide("div.highlight pre").filter((e) => !e.closest("div.cell")).length;
  let cut = 0, scrolling = 0;
  for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
    const r = m.getBoundingClientRect();
    const outside = r.left < col.left - 1 || r.right > col.right + 1;
    const ox = getComputedStyle(m).overflowX;
    const over = m.scrollWidth > m.clientWidth + 1;
    if (outside || (over && !(ox === "auto" || ox === "scroll"))) cut++;
    else if (over) scrolling++;
  }
  out.formulas_cut = cut;
  out.formulas_scrolling = scrolling;
  // Characters of the code font that fit in a code cell (to size the formatter's line length).
  const pre = inputs[0] || article.querySelector("div.highlight pre");
  if (pre) {
    const cs = getComputedStyle(pre);
    const probe = document.createElement("span");
    probe.style.font = cs.font;
    probe.style.whiteSpace = "pre";
    probe.textContent = "x".repeat(100);
    pre.appendChild(probe);
    const ch = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const inner = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    out.code_font = cs.fontFamily.split(",")[0] + " " + cs.fontSize;
    out.code_chars = Math.floor(inner / ch);
  }
  return out;
}
"""

SIDEBAR_OPEN_JS = r"""
() => {
  const s = document.querySelector(".bd-sidebar-primary");
  if (!s) return null;
  const r = s.getBoundingClientRect();
  const st = getComputedStyle(s);
  return st.visibility !== "hidden" && st.display !== "none" && r.width > 100 &&
         r.right > 100 && r.left < window.innerWidth - 100;
}
"""


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the summary readable
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def find_chromium() -> str | None:
    for cand in (
        os.environ.get("CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if cand and Path(cand).exists():
            return cand
    return None


def click_menu_button(page) -> bool:
    """Click the first visible primary-sidebar toggle; False when there is none to click."""
    from playwright.sync_api import Error as PlaywrightError

    buttons = page.locator("button.primary-toggle, label.primary-toggle")
    for i in range(buttons.count()):
        button = buttons.nth(i)
        if button.is_visible():
            try:
                button.click(timeout=3000)
            except PlaywrightError:
                return False
            page.wait_for_timeout(600)
            return True
    return False


def check_menu(page, url: str) -> tuple[bool, bool]:
    """(phone menu opens at 390 px, desktop sidebar hides at 1280 px) for one page."""
    page.set_viewport_size(PHONE)
    page.goto(url, wait_until="load")
    before = page.evaluate(SIDEBAR_OPEN_JS)
    phone_ok = (
        not before
        and click_menu_button(page)
        and bool(page.evaluate(SIDEBAR_OPEN_JS))
    )
    page.set_viewport_size(DESKTOP)
    page.goto(url, wait_until="load")
    before = page.evaluate(SIDEBAR_OPEN_JS)
    desk_ok = (
        bool(before)
        and click_menu_button(page)
        and not page.evaluate(SIDEBAR_OPEN_JS)
    )
    return phone_ok, desk_ok


def visit(browser, base: str, root: Path, rel: str) -> dict:
    """Open one page in a fresh context (empty cache: a first visit) and measure it."""
    url = f"{base}/{rel}"
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    errors, sizes = [], {}

    def on_console(msg):
        if msg.type == "error":
            errors.append(msg.text)

    def on_response(resp):
        if resp.status >= 400:
            errors.append(f"HTTP {resp.status}: {resp.url[len(base) :]}")

    def on_finished(req):
        # Weight as served: the size of the file behind each local URL.
        path = root / req.url[len(base) + 1 :].split("?")[0].split("#")[0]
        if req.url.startswith(base) and path.is_file():
            sizes[path] = (path.stat().st_size, req.resource_type)

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.on("response", on_response)
    page.on("requestfinished", on_finished)
    page.goto(url, wait_until="load")
    m = page.evaluate(MEASURE_JS)
    page.wait_for_timeout(200)
    m["phone_menu"], m["desktop_toggle"] = check_menu(page, url)
    m["errors"] = list(dict.fromkeys(errors))
    m["bytes"] = sum(s for s, _ in sizes.values())
    m["js_bytes"] = sum(s for s, t in sizes.values() if t == "script")
    ctx.close()
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "html", nargs="?", default="_build/html", help="the built book"
    )
    ap.add_argument(
        "--only",
        nargs="*",
        default=[],
        help="check only pages whose path has one of these",
    )
    args = ap.parse_args()

    root = Path(args.html)
    if not (root / "index.html").exists():
        print(
            f"browser check: no built book at {root}/index.html; build it first"
        )
        return 1
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(
            "browser check SKIPPED: the Python package `playwright` is not installed"
        )
        return 0
    chromium = find_chromium()
    if chromium is None:
        print(
            "browser check SKIPPED: no Chromium (Debian package `chromium`) on this machine"
        )
        return 0

    # Every page, less asset folders and redirect stubs (Jupyter Book's index.html).
    pages = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not SKIP_DIRS.intersection(p.relative_to(root).parts)
        and 'http-equiv="refresh"'
        not in p.read_text(encoding="utf-8", errors="replace")[:2000].lower()
    )
    if args.only:
        pages = [p for p in pages if any(s in p for s in args.only)]
    server, base = serve(root)
    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=CHROMIUM_FLAGS
        )
        for i, rel in enumerate(pages, 1):
            print(f"[{i}/{len(pages)}] {rel}", file=sys.stderr, flush=True)
            results[rel] = visit(browser, base, root, rel)
        browser.close()
    server.shutdown()
    return report(results)


def failures_of(m: dict) -> list[str]:
    f = []
    if m["errors"]:
        f.append(
            f"console: {len(m['errors'])} error(s), first: {m['errors'][0][:160]}"
        )
    if m["raw_tex"] or m["math_errors"]:
        f.append(
            f"maths: {m['raw_tex']} raw TeX, {m['math_errors']} MathJax errors {m['raw_tex_sample']!r}"
        )
    if m["broken_images"]:
        f.append(
            f"images: {len(m['broken_images'])} broken, e.g. {m['broken_images'][0]}"
        )
    bad = [
        d
        for d in m["diagrams"]
        if not d["drawn"]
        or d["error"]
        or (
            d["min_font_px"] is not None
            and d["min_font_px"] < MIN_DIAGRAM_FONT_PX
        )
    ]
    if bad:
        f.append(
            "mermaid: "
            + "; ".join(
                "not drawn"
                if not d["drawn"]
                else "syntax error"
                if d["error"]
                else f"text {d['min_font_px']} px"
                for d in bad
            )
        )
    if m["wide_inputs"] or m["wide_outputs"] or m["wide_other_code"]:
        f.append(
            f"width: {m['wide_inputs']}/{m['code_cells']} code cells and {m['wide_outputs']} "
            f"outputs scroll sideways (longest line {m['longest_input_line']} chars), "
            f"{m['wide_other_code']} other code blocks"
        )
    if m["formulas_cut"]:
        f.append(
            f"width: {m['formulas_cut']} display formulas cut off or outside the column"
        )
    if m["column_overflow_px"] > 1:
        f.append(
            f"width: something widens the column by {m['column_overflow_px']} px"
        )
    if m["phone_menu"] is False:
        f.append(
            "phone: at 390 px the menu button does not open the chapter list"
        )
    if m["desktop_toggle"] is False:
        f.append(
            "desktop: at 1280 px the sidebar button does not hide the sidebar"
        )
    return f


def report(results: dict) -> int:
    failed = 0
    print(
        f"\nBrowser check of {len(results)} pages (Chromium, 1280 px and 390 px)\n"
    )
    for rel, m in results.items():
        f = failures_of(m)
        failed += bool(f)
        status = "FAIL" if f else "ok  "
        print(
            f"{status} {rel}  ({m['bytes'] / 1e6:.2f} MB, {m['formulas']} formulas, "
            f"{len(m['diagrams'])} diagrams, {m['images']} images, {m['code_cells']} code cells)"
        )
        for line in f:
            print(f"       - {line}")
    tot = lambda k: sum(m[k] for m in results.values())
    heavy = max(results, key=lambda r: results[r]["bytes"])
    fonts = [
        d["min_font_px"]
        for m in results.values()
        for d in m["diagrams"]
        if d["min_font_px"]
    ]
    chars = next((m for m in results.values() if m.get("code_chars")), None)
    print("\nTotals")
    print(
        f"  code cells wider than their box at 1280 px: {tot('wide_inputs')} of {tot('code_cells')}"
        f" (+ {tot('wide_outputs')} outputs, {tot('wide_other_code')} other code blocks)"
    )
    print(
        f"  display formulas cut off: {tot('formulas_cut')}; in a scroll box inside the column: "
        f"{tot('formulas_scrolling')}"
    )
    print(
        f"  Mermaid diagrams: {sum(len(m['diagrams']) for m in results.values())}, smallest text "
        f"{min(fonts) if fonts else '-'} px"
    )
    print(
        f"  images: {tot('images')}, broken: {sum(len(m['broken_images']) for m in results.values())}, "
        f"alt text missing or a file name (not failed on): {tot('alt_missing')}"
    )
    print(
        f"  console errors: {sum(len(m['errors']) for m in results.values())}"
    )
    if chars:
        print(
            f"  code column at 1280 px: {chars['code_chars']} characters of {chars['code_font']}"
        )
    print(
        f"  heaviest page on a first visit: {heavy}, {results[heavy]['bytes'] / 1e6:.2f} MB "
        f"({results[heavy]['js_bytes'] / 1e6:.2f} MB JavaScript; uncompressed)"
    )
    print(
        f"\nbrowser check: {len(results) - failed} of {len(results)} pages pass every check"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
