"""Cut the OMC's base map (Kazakhstan and its neighbours) out of Natural Earth, offline.

    npm pack world-atlas@2.0.2                      # once, anywhere: the npm tarball
    .venv/bin/python tools/map_extract.py world-atlas-2.0.2.tgz

reads `package/countries-10m.json` (Natural Earth 4.1.0 Admin 0 countries, 1:10m, as TopoJSON) from
the tarball without unpacking it, refuses a tarball whose SHA-256 is not the one recorded below,
decodes the topology, simplifies each shared arc once (so that neighbours keep one common border),
clips the countries to the box around Kazakhstan and writes
`gateway/omc/static/map/kz-region.geojson` (RFC 7946). The same tarball always gives the same bytes.

Natural Earth is in the public domain; world-atlas (the TopoJSON conversion) is ISC-licensed.
Natural Earth has a roads layer, but no package on the registries this project reaches carries it:
the OMC draws the transit corridors of `mappings/corridors/` as the roads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiPolygon, Polygon, box, mapping
from shapely.ops import unary_union

TARBALL_SHA256 = "032e7765f2ce00edaeafec23ff22bc3b77e42987c257da944cc585b452c05b97"
MEMBER = "package/countries-10m.json"
BBOX = (35.0, 30.0, 105.0, 62.0)  # lon/lat: as far as the OMC map may be panned (its maxBounds)
TOLERANCE = 0.01  # degrees (~1 km): finer than a screen pixel at the OMC's widest view
DECIMALS = 3
KAZAKHSTAN = "398"  # ISO 3166-1 numeric, the ids world-atlas gives its countries
# Natural Earth draws the Baikonur lease (Kazakh territory leased to Russia) as a unit of its own,
# with no id: it is filled as Kazakhstan, and the line between them is not a border.
PART_OF_KAZAKHSTAN = {"Baikonur"}
OUT = Path(__file__).resolve().parent.parent / "gateway/omc/static/map/kz-region.geojson"


def read_topology(tarball: Path) -> dict[str, Any]:
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{tarball} has no {MEMBER}")
        return dict(json.load(member))


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """TopoJSON §2.1.5: quantized, delta-encoded positions, scaled and translated back."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def simplified(arcs: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
    """Each arc simplified once, its ends kept: the two countries it separates share the result."""
    out = []
    for arc in arcs:
        if len(arc) > 2:
            arc = list(LineString(arc).simplify(TOLERANCE, preserve_topology=False).coords)
        out.append([(round(x, DECIMALS), round(y, DECIMALS)) for x, y in arc])
    return out


def ring(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """TopoJSON §2.2: a negative index ~i is arc i reversed; consecutive arcs share an end."""
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def country_shape(geometry: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> Any:
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    shapes = []
    for rings in polygons:
        outer, *holes = (ring(r, arcs) for r in rings)
        if len(outer) >= 4:
            shapes.append(Polygon(outer, [h for h in holes if len(h) >= 4]).buffer(0))
    return unary_union(shapes)


def arc_indexes(geometry: dict[str, Any]) -> set[int]:
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    return {i if i >= 0 else ~i for rings in polygons for r in rings for i in r}


def lines(indexes: set[int], arcs: list[list[tuple[float, float]]], frame: Any) -> Any:
    """The arcs as borders and coasts, each once, cut to the frame (never the frame's own edges)."""
    parts = [LineString(arcs[i]).intersection(frame) for i in sorted(indexes) if len(arcs[i]) > 1]
    return unary_union([p for p in parts if not p.is_empty])


def rounded(geometry: Any) -> dict[str, Any]:
    def coords(value: Any) -> Any:
        if isinstance(value[0], float | int):
            return [round(float(value[0]), DECIMALS), round(float(value[1]), DECIMALS)]
        return [coords(v) for v in value]

    as_dict = dict(mapping(geometry))
    return {"type": as_dict["type"], "coordinates": coords(as_dict["coordinates"])}


def extract(tarball: Path) -> dict[str, Any]:
    """Countries as fills (no outline: a clipped polygon's outline would draw the frame), then the
    borders and coasts as lines: Kazakhstan's own, and all the others'."""
    topology = read_topology(tarball)
    arcs = simplified(decode_arcs(topology))
    frame = box(*BBOX)
    features = []
    own: set[int] = set()
    others: set[int] = set()
    kazakhstan: list[Any] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if "arcs" not in geometry:
            continue
        shape = country_shape(geometry, arcs).intersection(frame)
        if not isinstance(shape, Polygon | MultiPolygon):  # a clip can leave lines on the frame
            shape = unary_union(
                [g for g in getattr(shape, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
            )
        if shape.is_empty:
            continue
        code, name = str(geometry.get("id", "")), geometry["properties"]["name"]
        if code == KAZAKHSTAN or name in PART_OF_KAZAKHSTAN:
            own ^= arc_indexes(geometry)  # an arc the two share is inside Kazakhstan
            kazakhstan.append(shape)
            continue
        others.update(arc_indexes(geometry))
        features.append(_feature(name, "country", shape, code))
    features.append(_feature("Kazakhstan", "country", unary_union(kazakhstan), KAZAKHSTAN))
    features.sort(key=lambda f: (f["id"] != "Kazakhstan", f["id"]))
    features.append(_feature("borders", "border", lines(others - own, arcs, frame)))
    features.append(_feature("Kazakhstan border", "border", lines(own, arcs, frame)))
    return {
        "type": "FeatureCollection",
        "bbox": list(BBOX),
        "source": "Natural Earth 4.1.0 Admin 0 countries 1:10m (public domain), via world-atlas "
        f"2.0.2 (npm, ISC); clipped to {list(BBOX)}, arcs simplified to {TOLERANCE} deg, "
        "by tools/map_extract.py",
        "features": features,
    }


def _feature(name: str, kind: str, shape: Any, iso_numeric: str = "") -> dict[str, Any]:
    properties = {"kind": kind, "name": name} | (
        {"iso_numeric": iso_numeric} if iso_numeric else {}
    )
    return {"type": "Feature", "id": name, "properties": properties, "geometry": rounded(shape)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="world-atlas-2.0.2.tgz from `npm pack`")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    parser.add_argument("--print-sha", action="store_true", help="print the tarball's SHA-256")
    args = parser.parse_args(argv)
    digest = hashlib.sha256(args.tarball.read_bytes()).hexdigest()
    if args.print_sha:
        print(digest)
        return 0
    if digest != TARBALL_SHA256:
        print(f"{args.tarball}: SHA-256 {digest}, expected {TARBALL_SHA256}", file=sys.stderr)
        return 1
    text = json.dumps(extract(args.tarball), separators=(",", ":"), ensure_ascii=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{args.output}: {len(text.encode()) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
