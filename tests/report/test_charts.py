"""Inline SVG charts: marks proportional to values from 0, labels escaped, nothing external."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.report.charts import Series, bar_chart, line_chart
from tests.browser import render

SVG = "{http://www.w3.org/2000/svg}"


def marks(svg: str, tag: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}{tag}"))


def test_grouped_bars_are_proportional_and_carry_their_data() -> None:
    svg = bar_chart(
        "Mix", ["a", "b", "c"], [Series("x", (1.0, 2.0, 4.0)), Series("y", (0.0, 3.0, 0.5))]
    )
    rects = [r for r in marks(svg, "rect") if "data-series" in r.attrib]
    assert len(rects) == 6 and len(marks(svg, "rect")) == 6  # no other rect on the page
    assert [(r.get("data-series"), r.get("data-label")) for r in rects] == [
        ("x", "a"),
        ("y", "a"),
        ("x", "b"),
        ("y", "b"),
        ("x", "c"),
        ("y", "c"),
    ]
    heights = {
        (r.get("data-series"), r.get("data-label")): float(r.get("height", "")) for r in rects
    }
    assert heights[("y", "a")] == 0.0
    for (series, label), height in heights.items():
        value = float(
            next(
                r for r in rects if r.get("data-label") == label and r.get("data-series") == series
            ).get("data-value", "")
        )
        assert height == pytest.approx(heights[("x", "c")] * value / 4.0, abs=1e-2)
    baseline = next(e for e in marks(svg, "line") if "data-baseline" in e.attrib)
    for r in rects:  # every bar stands on the baseline
        bottom = float(r.get("y", "")) + float(r.get("height", ""))
        assert bottom == pytest.approx(float(baseline.get("y1", "")), abs=1e-2)


def test_stacked_bars_add_up() -> None:
    svg = bar_chart("S", ["m"], [Series("p", (1.0,)), Series("q", (3.0,))], stacked=True)
    low, high = (r for r in marks(svg, "rect"))
    assert float(high.get("height", "")) == pytest.approx(3 * float(low.get("height", "")))
    assert float(high.get("y", "")) + float(high.get("height", "")) == pytest.approx(
        float(low.get("y", ""))
    )
    assert low.get("x") == high.get("x")


def test_labels_and_titles_are_escaped() -> None:
    nasty = '<img src=x onerror="alert(1)">&'
    svg = bar_chart(nasty, [nasty], [Series(nasty, (1.0,))]) + line_chart(
        nasty, [nasty], [Series(nasty, (1.0,))], threshold=0.5, threshold_label=nasty
    )
    assert "<img" not in svg and 'onerror="' not in svg
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in svg
    for part in svg.split("</svg>")[:-1]:
        root = ET.fromstring(part + "</svg>")  # still well-formed XML
        assert root.get("data-chart") == nasty
    assert "script" not in svg and "url(" not in svg and "href" not in svg


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="has 1 values for 2"):
        bar_chart("t", ["a", "b"], [Series("s", (1.0,))])
    with pytest.raises(ValueError, match=">= 0"):
        line_chart("t", ["a"], [Series("s", (-1.0,))])
    with pytest.raises(ValueError, match="finite"):
        line_chart("t", ["a"], [Series("s", (1.0,))], threshold=float("nan"))


def test_all_zero_and_empty_charts_render() -> None:
    zero = bar_chart("z", ["a"], [Series("s", (0.0,))])
    assert float(marks(zero, "rect")[0].get("height", "")) == 0.0
    assert marks(line_chart("e", [], []), "circle") == []


def test_line_chart_in_chromium(tmp_path: Path) -> None:
    values = (0.5, 2.0, 0.0, 3.25)
    svg = line_chart(
        "Cost",
        ["2026-01", "2026-02", "2026-03", "2026-04"],
        [Series("routed", values), Series("all-frontier", (1.0, 4.0, 0.0, 6.5))],
        threshold=5.0,
        threshold_label="budget",
        unit="$",
    )
    page = tmp_path / "chart.html"
    page.write_text(f"<!doctype html><html><head><title>c</title></head><body>{svg}</body></html>")
    drawn = render(page, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 0
    points = [m for m in drawn.marks if m.tag == "circle"]
    assert len(points) == 8 and {m.chart for m in points} == {"Cost"}
    base = drawn.baselines["Cost"]
    top = max(points, key=lambda m: m.value)
    scale = (base - top.cy) / top.value  # pixels per dollar
    for m in points:
        assert base - m.cy == pytest.approx(m.value * scale, abs=1.0), m
    assert base - drawn.thresholds["Cost"] == pytest.approx(5.0 * scale, abs=1.0)
    routed = [m for m in points if m.series == "routed"]
    assert [m.value for m in routed] == list(values)
    assert [m.label for m in routed] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert all(a.x < b.x for a, b in zip(routed, routed[1:], strict=False))


def test_a_page_that_fetches_anything_fails(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    (tmp_path / "local.png").write_bytes(b"")
    page.write_text(
        '<html><body><img src="http://example.invalid/x.png"><img src="local.png"></body></html>'
    )
    with pytest.raises(AssertionError, match="not self-contained") as caught:
        render(page)
    assert "http://example.invalid/x.png" in str(caught.value) and "local.png" in str(caught.value)
