"""Write the OMC map's main international routes (`gateway/omc/static/map/main-routes.geojson`).

    .venv/bin/python tools/map_routes.py             # rewrites the file; same table, same bytes

No roads data set is reachable here: Natural Earth's roads layer (`ne_10m_roads`) and OpenStreetMap
extracts are in no package on the registries this project reaches (PyPI, npm, Debian; what was
searched is in `gateway/omc/static/map/README.md`). So the map draws the main international routes
through the China-border crossings as **straight lines between sourced towns**, in the order the
route passes them: each line says which route it is (Asian Highway / E-road number, with the
source that names the towns on it), and each point says where its coordinates come from. A line is
not the road's course: between two towns the road may lie tens of kilometres off it. No coordinate
here is recalled or guessed; a town with no sourced position is left out (and said so in `note`).

Coordinates: decimal degrees, 2 decimals, as in `shared/reference/checkpoints-and-corridors.md`
("the reference"); a crossing's point is the one in `mappings/checkpoints.toml`.

Not drawn: AH67, which enters at Bakhty and joins AH60 at Taskesken towards Semey (ja.wikipedia),
and AH60 Semey - Taskesken - Usharal - Saryozek - Almaty (MLIT): Taskesken and Saryozek have no
sourced position. Kolzhat has no route: no source names one through it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "gateway/omc/static/map/main-routes.geojson"

# Each town once: (lat, lon, where the coordinates come from).
TOWNS: dict[str, tuple[float, float, str]] = {
    "Nur Zholy": (44.22, 80.38, "the reference (ru.wikipedia 'Khorgos (selo)', mirror)"),
    "Zharkent": (44.15, 80.00, "the reference (UN/LOCODE)"),
    "Almaty": (43.25, 76.95, "the reference (UN/LOCODE)"),
    "Kordai": (43.04, 74.71, "the reference (ru.wikipedia, mirror)"),
    "Taraz": (42.90, 71.37, "the reference (UN/LOCODE)"),
    "Shymkent": (42.30, 69.60, "the reference (UN/LOCODE 'Chimkent')"),
    "Zhibek Zholy": (41.48, 69.37, "the reference (ru.wikipedia, mirror)"),
    "Kyzylorda": (44.85, 65.51, "the reference (well-known city, approx.)"),
    "Aral": (46.80, 61.67, "the reference (well-known city, approx.)"),
    "Aktobe": (50.28, 57.17, "the reference (UN/LOCODE)"),
    "Dostyk": (45.25, 82.48, "the reference (index1520.com 45 15 08 N 82 29 02 E)"),
    "Usharal": (46.17, 80.94, "az.wikipedia 'Uşaral' (46 10 11 N 80 56 22 E)"),
    "Zaisan": (
        47.47,
        84.87,
        "en.wikipedia 'Zaisan (town)' (47.4667, 84.8667; mirror); "
        "ru.wikipedia 'Zaysansky rayon' (47 27 54 N 84 52 33 E)",
    ),
    "Maikapshagai": (
        47.55,
        85.72,
        "China's Jeminay port (encyclopaedia entry '吉木乃口岸', hbzqbyyxgs.com mirror: "
        "85 43 E, 47 33 N); "
        "the Kazakh post is 500 m from it (china.org.cn)",
    ),
}

MLIT = (
    "Japan MLIT, 'Asian Highway routes in Kazakhstan' (mlit.go.jp/kokusai/kokusai_tk3_000089), "
    "table 1"
)
ROUTES: list[dict[str, Any]] = [
    {
        "id": "AH5",
        "ref": "AH5 · A-2",
        "name": "Nur Zholy (Khorgos) - Almaty - Taraz - Shymkent - Zhibek Zholy",
        "source": f"{MLIT}: Khorgos (CN border) - Koktal - Almaty - Kordai (KG border), 570 km; "
        "Merke (KG border) - Shymkent - Zhibek Zholy (UZ border), 463 km. ESCAP Asian Highway "
        "Handbook (2003), p. 32, via en.wikipedia 'AH5' (mirror)",
        "towns": ["Nur Zholy", "Zharkent", "Almaty", "Kordai", "Taraz", "Shymkent", "Zhibek Zholy"],
        "note": "Koktal and Merke have no sourced position: the line joins the reference's towns "
        "instead. Between Kordai and Merke AH5 runs through Bishkek; on the Kazakh side that "
        "stretch is AH61 (MLIT), and since 2012 the Kazakh road bypasses Kyrgyzstan "
        "(tengrinews.kz, 22 Nov 2012).",
    },
    {
        "id": "AH61",
        "ref": "AH61 · Western Europe - Western China",
        "name": "Shymkent - Kyzylorda - Aral - Aktobe (towards Orenburg)",
        "source": f"{MLIT}: AH61 Shymkent - Kyzylorda - Aralsk - Karabutak - Uralsk - Kamenka "
        "(RU border). The reference, corridor A (europe-china.kz): Western Europe - Western China "
        "through Kyzylorda, Aral, Karabutak/Irgiz and Aktobe, 2,787 km in Kazakhstan",
        "towns": ["Shymkent", "Kyzylorda", "Aral", "Aktobe"],
        "note": "After Aral, AH61 turns to Uralsk and Western Europe - Western China to Aktobe, "
        "both through Karabutak; Karabutak and Uralsk have no sourced position, so the line "
        "follows Western Europe - Western China to Aktobe. From Nur Zholy to Shymkent that "
        "route is AH5's.",
    },
    {
        "id": "AH68",
        "ref": "AH68 · A-355",
        "name": "Dostyk - Usharal",
        "source": "ESCAP Asian Highway network via ja.wikipedia 'アジアハイウェイ68号線': 184 km in "
        "Kazakhstan, A355 from the Dostyk post, then R130 to Usharal, where it meets AH60",
        "towns": ["Dostyk", "Usharal"],
        "note": "",
    },
    {
        "id": "E127",
        "ref": "E127",
        "name": "Zaisan - Maikapshagai (the east end of Omsk - Maikapshagai)",
        "source": "en.wikipedia 'Zaisan (town)': the town is near the eastern terminus of E127, "
        "which connects it with Omsk; the reference (fresh.buzz) and inform.kz (7 Nov 2025): the "
        "Kalbatau - Maikapshagai road, rebuilt to six lanes",
        "towns": ["Zaisan", "Maikapshagai"],
        "note": "Kalbatau and the towns north of it have no sourced position: only the east end is "
        "drawn.",
    },
]


def build() -> dict[str, Any]:
    features = []
    for route in ROUTES:
        towns = [{"name": t, "lat": TOWNS[t][0], "lon": TOWNS[t][1]} for t in route["towns"]]
        properties = {
            "kind": "route",
            "ref": route["ref"],
            "name": route["name"],
            "source": route["source"],
            "note": route["note"],
            "towns": [t["name"] for t in towns],
        }
        features.append(
            {
                "type": "Feature",
                "id": route["id"],
                "properties": properties,
                # RFC 7946: [lon, lat]
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[t["lon"], t["lat"]] for t in towns],
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "source": "main international routes through the China-border crossings: straight lines "
        "between sourced towns (not the roads' course), by tools/map_routes.py",
        "towns": {
            name: {"lat": lat, "lon": lon, "source": src} for name, (lat, lon, src) in TOWNS.items()
        },
        "features": features,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = json.dumps(build(), ensure_ascii=False, indent=1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{args.output}: {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
