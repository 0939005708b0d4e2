"""Render a local HTML file in headless Chromium (Debian's, through playwright) and read it back.

    page = render(path, png=tmp_path / "page.png")  # one browser start
    bars = [m for m in page.marks if m.tag == "rect"]
    page.baselines["Cost per month"]                  # y of a chart's value-0 axis, in pixels

Marks are the elements `app/report/charts.py` draws with `data-series`/`data-label`/`data-value`;
geometry comes from `getBoundingClientRect`. The page must be self-contained: every request
other than the page itself is aborted, and `render` fails if there was any. Without playwright
or Chromium the calling test skips with the reason (fails under `CI=true`). Never runs
`playwright install`: the browser is the system's (`TIERED_REVIEW_CHROMIUM`, default
`/usr/bin/chromium`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import need

CHROMIUM = Path(os.environ.get("TIERED_REVIEW_CHROMIUM", "/usr/bin/chromium"))
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_READ = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const chart = (e) => e.closest('svg')?.getAttribute('data-chart') ?? '';
  return {
    title: document.title,
    marks: [...document.querySelectorAll('[data-series]')].map(e => ({
      chart: chart(e), tag: e.tagName.toLowerCase(), series: e.dataset.series,
      label: e.dataset.label, value: e.dataset.value, ...box(e)})),
    lines: [...document.querySelectorAll('[data-baseline], [data-threshold]')].map(e => ({
      chart: chart(e), kind: e.hasAttribute('data-threshold') ? 'threshold' : 'baseline',
      ...box(e)})),
  };
}"""


@dataclass(frozen=True, slots=True)
class Mark:
    """One bar or point as drawn: its data attributes and its box in CSS pixels."""

    chart: str
    tag: str
    series: str
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float

    @property
    def cy(self) -> float:
        """The vertical centre (a point's position)."""
        return self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class Page:
    """What the browser drew: marks, and per chart the y of its baseline and threshold."""

    title: str
    marks: list[Mark]
    baselines: dict[str, float]
    thresholds: dict[str, float]


def render(path: Path, png: Path | None = None) -> Page:
    """Load `path` in headless Chromium with the network blocked; optionally save a screenshot."""
    try:
        from playwright.sync_api import Route, sync_playwright
    except ImportError:
        need(False, "playwright is not installed: pip install -e '.[test]'")
        raise  # unreachable: need() skipped or failed
    need(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM}: apt-get install chromium")
    page_url = path.resolve().as_uri()
    requested: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if url == page_url:
            route.continue_()
        else:
            requested.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            context.route("**/*", guard)
            page = context.new_page()
            page.on("request", lambda r: None if r.url == page_url else requested.append(r.url))
            page.goto(page_url, wait_until="load")
            raw: dict[str, Any] = page.evaluate(_READ)
            if png is not None:
                page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    assert not requested, f"the page is not self-contained, it requested: {sorted(set(requested))}"
    return _page(raw)


def chart_marks(path: Path) -> list[Mark]:
    """Every bar and point of the page's charts, as drawn."""
    return render(path).marks


def screenshot(path: Path, png: Path) -> None:
    """Save a full-page PNG of `path` as Chromium renders it."""
    render(path, png)


def _page(raw: dict[str, Any]) -> Page:
    marks = [
        Mark(
            chart=m["chart"],
            tag=m["tag"],
            series=m["series"],
            label=m["label"],
            value=float(m["value"]),
            x=m["x"],
            y=m["y"],
            width=m["width"],
            height=m["height"],
        )
        for m in raw["marks"]
    ]
    lines: dict[str, dict[str, float]] = {"baseline": {}, "threshold": {}}
    for line in raw["lines"]:
        lines[line["kind"]][line["chart"]] = line["y"] + line["height"] / 2
    return Page(raw["title"], marks, lines["baseline"], lines["threshold"])
