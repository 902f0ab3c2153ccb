"""SVG charts: geometry, accessibility and escaping (pure functions, no app needed)."""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from fivs.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_radar_points_first_axis_up_then_clockwise():
    points = charts.radar_points([100, 50, None, 0, 100], cx=100, cy=100, radius=80)

    assert points[0] == pytest.approx((100, 20))  # 100 % straight up
    angle = -math.pi / 2 + 2 * math.pi / 5
    assert points[1] == pytest.approx((100 + 40 * math.cos(angle), 100 + 40 * math.sin(angle)))
    assert points[1][0] > 100  # clockwise: the second axis is to the right
    assert points[2] is None and points[3] == pytest.approx((100, 100))


def test_radar_svg_is_accessible_well_formed_and_escaped():
    svg = charts.radar_svg(["Sàng lọc", "Sắp xếp", "Sạch sẽ", "Săn sóc", "<b>Sẵn sàng</b>"],
                           [charts.Series("Đầu kỳ", [50, 60, 70, 80, 90], charts.BASELINE_COLOUR, "6 4"),
                            charts.Series("Cuối kỳ", [60, 70, None, 90, 100], charts.FINAL_COLOUR)],
                           title="Trường <Đồng Phúc> & co", desc="Bảng bên cạnh", chart_id="r1")

    root = ET.fromstring(str(svg))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "r1-title r1-desc"
    assert root.find(f"{SVG}title").text == "Trường <Đồng Phúc> & co"
    assert "&lt;b&gt;Sẵn sàng&lt;/b&gt;" in svg and "style=" not in svg
    data_polygons = [p for p in root.iter(f"{SVG}polygon") if p.get("fill-opacity")]
    assert len(data_polygons) == 2
    assert len(data_polygons[1].get("points").split()) == 4  # the missing value is skipped


def test_bar_chart_scale_has_zero_tick_and_whiskers():
    bars = [charts.Bar("Sàng lọc", 9.0, -0.3, 18.2), charts.Bar("Sắp xếp", -4.0, -9.5, 1.5),
            charts.Bar("Sạch sẽ", None)]

    svg = charts.bar_ci_svg(bars, title="Thay đổi", chart_id="b1", fmt=lambda v: f"{v:+.1f}")

    root = ET.fromstring(str(svg))
    scale = charts.ValueScale.covering([9.0, -0.3, 18.2, -4.0, -9.5, 1.5], 0, 100)
    assert 0.0 in scale.ticks() and scale.lo <= -9.5 and scale.hi >= 18.2
    assert len(root.findall(f"{SVG}rect")) == 2  # no bar for a missing value
    assert [r.get("fill") for r in root.findall(f"{SVG}rect")] == [charts.BAR_COLOUR, charts.NEGATIVE_COLOUR]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "+9.0" in texts and "-4.0" in texts and "—" in texts and "Sạch sẽ" in texts


@pytest.mark.parametrize("raw, step", [(0.3, 0.5), (4.7, 5), (6, 10), (1, 1), (2.2, 2.5), (0, 1)])
def test_nice_step(raw, step):
    assert charts.nice_step(raw) == pytest.approx(step)
