"""A plan's county map, server-side: the plan's own boundaries (``boundaries.geojson``, docs/plan-format.md)
projected to SVG paths. A plan without boundaries has no map (never another state's).

The projection is a plain equirectangular one scaled by the cosine of the map's middle latitude (good enough
for one state); each county is one SVG path, labelled at the middle of its bounding box.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from caucus.plans import Plan

WIDTH = 640.0


@dataclass(frozen=True)
class CountyShape:
    name: str
    path: str  # SVG path data
    label_x: float
    label_y: float


@dataclass(frozen=True)
class CountyMap:
    width: float
    height: float
    counties: tuple[CountyShape, ...]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"


@functools.cache
def plan_map(plan: Plan) -> CountyMap | None:
    """The plan's county map (projected once per plan and process); None if the plan has no boundaries."""
    boundaries = plan.boundaries
    if boundaries is None or not boundaries.counties:
        return None
    west, south, east, north = boundaries.extent
    cos = math.cos(math.radians((north + south) / 2))
    span = max((east - west) * cos, north - south, 1e-9)
    scale = WIDTH / span
    width, height = (east - west) * cos * scale, (north - south) * scale

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * cos * scale, (north - lat) * scale

    shapes = []
    for name, polygons in boundaries.counties.items():
        commands, xs, ys = [], [], []
        for polygon in polygons:
            for ring in polygon:
                projected = [project(lon, lat) for lon, lat in ring]
                xs += [x for x, _ in projected]
                ys += [y for _, y in projected]
                commands.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in projected) + "Z")
        shapes.append(CountyShape(name, "".join(commands), (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return CountyMap(max(width, 1.0), max(height, 1.0), tuple(shapes))
