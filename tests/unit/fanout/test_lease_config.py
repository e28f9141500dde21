"""A lease shorter than the calls it covers guarantees double sends: the gateway refuses to start."""

from __future__ import annotations

import pytest

from gateway.bootstrap import build_services
from gateway.config import check_lease_outlasts_timeouts, load_config
from gateway.errors import ConfigurationError
from tests.gateway_fixtures import gateway_config


def test_a_lease_shorter_than_an_agencys_timeout_is_refused_at_start(pki, database_url) -> None:  # type: ignore[no-untyped-def]
    # mappings/agencies.toml gives every agency timeout_s = 10.
    config = gateway_config(pki, database_url, {}, lease_s=12)
    with pytest.raises(ConfigurationError, match=r"NSW_LEASE_S is 12 s .* agency \w+ .* 10 s"):
        build_services(config, migrate=False)


def test_the_agency_timeout_override_counts_instead_of_the_mapping(pki, database_url) -> None:  # type: ignore[no-untyped-def]
    refused = gateway_config(pki, database_url, {}, lease_s=20, agency_timeout_s=15)
    with pytest.raises(ConfigurationError, match=r"NSW_LEASE_S is 20 s .* up to 15 s"):
        build_services(refused, migrate=False)
    accepted = gateway_config(pki, database_url, {}, lease_s=3, agency_timeout_s=2)
    with pytest.raises(ConfigurationError, match="NSW_NOTIFY_TIMEOUT_S"):  # still 10 s
        build_services(accepted, migrate=False)
    build_services(accepted.with_overrides(notify_timeout_s=2), migrate=False).close()


def test_each_agency_and_the_notification_timeout_are_checked() -> None:
    env = {"NSW_LEASE_S": "30", "NSW_NOTIFY_TIMEOUT_S": "25", "NSW_AGENCY_TIMEOUT_S": "5"}
    config = load_config(env)
    assert config.agency_timeout_s == 5
    with pytest.raises(ConfigurationError, match=r"trader notifications .* 25 s"):
        check_lease_outlasts_timeouts(config, {"customs": 5})
    with pytest.raises(ConfigurationError, match=r"agency health .* 40 s.*at least 60 s"):
        check_lease_outlasts_timeouts(config, {"customs": 5, "health": 40})
    check_lease_outlasts_timeouts(config.with_overrides(lease_s=60), {"health": 40})
    check_lease_outlasts_timeouts(load_config({}), {"customs": 10})  # the defaults hold
