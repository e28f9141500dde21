"""Routing rules from mappings/routing.toml applied to the sample applications."""

from pathlib import Path

import pytest

from gateway.domain.application import read_application
from gateway.errors import ConfigurationError
from gateway.fanout.routing import explain, load_rules, route
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml

RULES = load_rules(shipped("mappings") / "routing.toml")


def sample(name: str, edit: tuple[bytes, bytes] | None = None):  # type: ignore[no-untyped-def]
    raw = (shipped("samples") / f"{name}.xml").read_bytes()
    if edit:
        raw = raw.replace(*edit)
    return read_application(parse_xml(raw))


@pytest.mark.parametrize(
    ("name", "agencies"),
    [
        ("fresh-apples-import", ["customs", "transport", "police", "phytosanitary", "health"]),
        ("chilled-lamb-import", ["customs", "transport", "police", "veterinary", "health"]),
        ("live-cattle-import", ["customs", "transport", "police", "veterinary"]),
        ("overweight-machinery-transit", ["customs", "transport", "police"]),
    ],
)
def test_samples_route_to_their_agencies(name: str, agencies: list[str]) -> None:
    assert [r.agency for r in route(sample(name), RULES)] == agencies


def test_each_item_hit_names_its_rule_and_line() -> None:
    routes = {r.agency: r for r in route(sample("fresh-apples-import"), RULES)}
    assert [(h.rule, h.item_line) for h in routes["phytosanitary"].hits] == [
        ("phytosanitary-decision-318", 1)
    ]
    assert routes["customs"].hits[0].item_line is None


def test_procedure_limits_item_rules() -> None:
    exported = sample(
        "fresh-apples-import", (b"<Procedure>import</Procedure>", b"<Procedure>export</Procedure>")
    )
    assert [r.agency for r in route(exported, RULES)] == ["customs", "transport", "police"]


def test_rail_movement_skips_transport_control_and_the_road_police() -> None:
    by_rail = sample("overweight-machinery-transit", (b"<Mode>road</Mode>", b"<Mode>rail</Mode>"))
    assert [r.agency for r in route(by_rail, RULES)] == ["customs"]


def test_meat_goes_to_veterinary_and_apples_to_phytosanitary_control() -> None:
    meat = {r.agency: r for r in route(sample("chilled-lamb-import"), RULES)}
    apples = {r.agency: r for r in route(sample("fresh-apples-import"), RULES)}
    assert [h.rule for h in meat["veterinary"].hits] == ["veterinary-decision-317"]
    assert "phytosanitary" not in meat
    assert [h.rule for h in apples["phytosanitary"].hits] == ["phytosanitary-decision-318"]
    assert "veterinary" not in apples
    # Meat and apples in one truck: each line to its own service, and both to sanitary control.
    both = sample(
        "fresh-apples-import", (b"<HSCode>0808108000</HSCode>", b"<HSCode>0204100000</HSCode>")
    )
    assert [r.agency for r in route(both, RULES)] == [
        "customs",
        "transport",
        "police",
        "veterinary",
        "health",
    ]


@pytest.mark.parametrize("procedure", ["import", "export", "transit"])
def test_every_truck_goes_to_the_road_police_at_entry(procedure: str) -> None:
    for name in ("fresh-apples-import", "chilled-lamb-import", "overweight-machinery-transit"):
        application = sample(
            name, (b"<Procedure>import</Procedure>", f"<Procedure>{procedure}</Procedure>".encode())
        )
        police = {r.agency: r for r in route(application, RULES)}["police"]
        assert [(h.rule, h.item_line) for h in police.hits] == [("police-road-entry", None)]


def test_explain_says_item_by_item_where_goods_go() -> None:
    lines = explain(sample("live-cattle-import"), route(sample("live-cattle-import"), RULES))
    assert (
        "item 1 0102291000 'Live pure-bred breeding heifers, Holstein' from IN -> veterinary: veterinary-decision-317"
        in "\n".join(lines)
    )
    assert any(line.startswith("application -> customs") for line in lines)


def test_a_malformed_rule_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "routing.toml"
    bad.write_text('[[rule]]\nid = "x"\nagency = "customs"\n')  # no "why"
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_rules(bad)


def test_an_item_citing_a_permit_is_not_sent_to_that_agency_again() -> None:
    """Issue 20: the lamb citing a veterinary permit goes to every agency but veterinary."""
    cite = b'</InvoiceValue><PermitReference agency="veterinary">KZ-VET-1</PermitReference>'
    application = sample("chilled-lamb-import", (b"</InvoiceValue>", cite))
    assert application.items[0].permit is not None
    assert application.items[0].permit.permit_id == "KZ-VET-1"
    routes = route(application, RULES)
    assert [r.agency for r in routes] == ["customs", "transport", "police", "health"]
    assert "cites veterinary permit KZ-VET-1" in "\n".join(explain(application, routes))
