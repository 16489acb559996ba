"""Iowa's county boundaries, server-side: the vendored us-atlas TopoJSON decoded to SVG paths.

TopoJSON stores shared arcs, delta-encoded and quantized; a county polygon lists arc indexes (``~i`` for
arc ``i`` reversed). We decode the 99 Iowa counties (state FIPS 19) once, project them with a plain
equirectangular projection scaled by cos(42°) (good enough for one state) and keep one SVG path per county.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ATLAS = Path(__file__).parent / "static" / "us-atlas" / "counties-10m.json"
IOWA_FIPS = "19"
WIDTH = 640.0
_COS = math.cos(math.radians(42.0))


@dataclass(frozen=True)
class CountyShape:
    name: str
    fips: str
    path: str  # SVG path data
    label_x: float
    label_y: float


@dataclass(frozen=True)
class IowaMap:
    width: float
    height: float
    counties: tuple[CountyShape, ...]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"


def _decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


@functools.cache
def iowa_map(atlas: Path = ATLAS) -> IowaMap:
    """The Iowa county map (decoded once per process)."""
    topology = json.loads(atlas.read_text())
    arcs = _decode_arcs(topology)
    polygons: dict[str, tuple[str, list[list[list[tuple[float, float]]]]]] = {}
    for geometry in topology["objects"]["counties"]["geometries"]:
        if not str(geometry.get("id", "")).startswith(IOWA_FIPS):
            continue
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        polygons[geometry["id"]] = (geometry["properties"]["name"],
                                    [[_ring(arcs, ring) for ring in polygon] for polygon in parts])
    every = [p for _, polys in polygons.values() for poly in polys for ring in poly for p in ring]
    west, east = min(p[0] for p in every), max(p[0] for p in every)
    south, north = min(p[1] for p in every), max(p[1] for p in every)
    scale = WIDTH / ((east - west) * _COS)
    height = (north - south) * scale

    def project(point: tuple[float, float]) -> tuple[float, float]:
        return (point[0] - west) * _COS * scale, (north - point[1]) * scale

    shapes = []
    for fips, (name, polys) in sorted(polygons.items(), key=lambda kv: kv[1][0]):
        commands = []
        xs, ys = [], []
        for poly in polys:
            for ring in poly:
                projected = [project(p) for p in ring]
                xs += [x for x, _ in projected]
                ys += [y for _, y in projected]
                commands.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in projected) + "Z")
        shapes.append(CountyShape(name, fips, "".join(commands), (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return IowaMap(WIDTH, height, tuple(shapes))
