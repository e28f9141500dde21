"""The OMC's storage ports on the gateway's database, built by the composition root."""

from __future__ import annotations

from gateway.omc.ports import OmcPorts
from gateway.storage.omc_accounts import SqlOfficerAccounts
from gateway.storage.omc_actions import SqlActionRecords
from gateway.storage.omc_figures import SqlChangeMarker, SqlFigures
from gateway.storage.omc_floor import SqlFloorViews
from gateway.storage.omc_queries import SqlApplicationViews
from gateway.storage.repository import Store


def build_omc_ports(store: Store) -> OmcPorts:
    return OmcPorts(
        accounts=SqlOfficerAccounts(store),
        actions=SqlActionRecords(store),
        applications=SqlApplicationViews(store),
        floor=SqlFloorViews(store),
        figures=SqlFigures(store),
        changes=SqlChangeMarker(store),
    )
