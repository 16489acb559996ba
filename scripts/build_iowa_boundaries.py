"""Build the bundled iowa-2020 plan's county boundaries (``boundaries.geojson``) from the us-atlas TopoJSON.

    .venv/bin/python scripts/build_iowa_boundaries.py            # writes src/caucus/plans/iowa-2020/boundaries.geojson
    .venv/bin/python scripts/build_iowa_boundaries.py --out FILE

The source is ``data/us-atlas/counties-10m.json`` (us-atlas 3.0.1: the Census Bureau's 1:10,000,000
cartographic boundary files, already generalised and quantized; see ``data/us-atlas/PROVENANCE.md``). The
script keeps Iowa's 99 counties (state FIPS 19), decodes their shared arcs into GeoJSON polygons, rounds
every coordinate to 4 decimal places (about 10 m, far below one pixel of the public map) and drops points
that the rounding made repeat. Every county of the plan must be found, under the plan's own name. The output
is deterministic (one feature per line, in the plan's county order); the tests require the bundled file to be
exactly what this script writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ATLAS = ROOT / "data" / "us-atlas" / "counties-10m.json"
PLAN_DIR = ROOT / "src" / "caucus" / "plans" / "iowa-2020"
DEFAULT_OUT = PLAN_DIR / "boundaries.geojson"
IOWA_FIPS = "19"
DECIMALS = 4

Point = tuple[float, float]


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """TopoJSON arcs: delta-encoded, quantized positions, back to longitude/latitude."""
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


def ring(arcs: list[list[Point]], indexes: list[int]) -> list[list[float]]:
    """A closed ring from arc indexes (``~i``: arc ``i`` reversed), rounded, repeated points dropped."""
    points: list[Point] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    out: list[list[float]] = []
    for lon, lat in points:
        position = [round(lon, DECIMALS), round(lat, DECIMALS)]
        if not out or out[-1] != position:
            out.append(position)
    if out[0] != out[-1]:
        out.append(out[0])
    return out


def build(atlas: Path, county_names: list[str]) -> str:
    topology = json.loads(atlas.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    found: dict[str, dict[str, Any]] = {}
    for geometry in topology["objects"]["counties"]["geometries"]:
        fips = str(geometry.get("id", ""))
        if not fips.startswith(IOWA_FIPS):
            continue
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        polygons = [[ring(arcs, r) for r in polygon] for polygon in parts]
        shape: dict[str, Any] = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
                                 else {"type": "MultiPolygon", "coordinates": polygons})
        found[geometry["properties"]["name"]] = {"type": "Feature", "properties": {
            "county": geometry["properties"]["name"], "fips": fips}, "geometry": shape}
    missing = [name for name in county_names if name not in found]
    extra = sorted(set(found) - set(county_names))
    if missing or extra:
        raise SystemExit(f"the atlas and the plan disagree: not in the atlas {missing}, not in the plan {extra}")
    lines = [json.dumps(found[name], separators=(",", ":")) for name in county_names]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def plan_counties(plan_dir: Path) -> list[str]:
    import csv  # noqa: PLC0415

    with (plan_dir / "counties.csv").open(encoding="utf-8", newline="") as handle:
        return [row["county"] for row in csv.DictReader(handle) if row["kind"] == "county"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--atlas", type=Path, default=ATLAS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    text = build(args.atlas, plan_counties(PLAN_DIR))
    args.out.write_text(text, encoding="utf-8", newline="")
    print(f"wrote {args.out} ({len(text.encode()):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
