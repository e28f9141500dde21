"""Choose an agency's adapter by its protocol: what the gateway's composition root calls."""

from __future__ import annotations

from collections.abc import Callable

from adapters.base import AgencyAdapter, AgencySpec, Credentials
from adapters.rest import RestAdapter
from adapters.soap import SoapAdapter

_BUILDERS: dict[str, Callable[[AgencySpec, Credentials], AgencyAdapter]] = {
    "soap": SoapAdapter,
    "rest": RestAdapter,
}


def build_adapter(spec: AgencySpec, credentials: Credentials) -> AgencyAdapter:
    """The adapter for `spec`, signing with and pinning `credentials` (contract and mappings read
    now, so a broken file fails at start-up).

    An empty `spec.endpoint` is allowed: such an adapter raises `AgencyCallFailed` when used.
    Raises `ValueError` for an unknown protocol or an unreadable contract or mapping.
    """
    try:
        builder = _BUILDERS[spec.protocol]
    except KeyError:
        known = ", ".join(sorted(_BUILDERS))
        raise ValueError(
            f"agency {spec.code}: unknown protocol {spec.protocol!r} (known: {known})"
        ) from None
    return builder(spec, credentials)
