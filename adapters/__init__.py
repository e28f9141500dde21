"""Agency adapters: one interface (base) and the builder that picks a SOAP or a REST implementation
by protocol (registry). What this package re-exports is the port, and only the port: the gateway
uses nothing else of it (an import contract checks it); the wire protocols live in `wire/`."""

from adapters.base import (
    AgencyAdapter,
    AgencyAnswer,
    AgencyAnswerUntrusted,
    AgencyCallFailed,
    AgencyRequest,
    AgencySpec,
    Credentials,
    Outcome,
    Reason,
)
from adapters.registry import build_adapter

__all__ = [
    "AgencyAdapter",
    "AgencyAnswer",
    "AgencyAnswerUntrusted",
    "AgencyCallFailed",
    "AgencyRequest",
    "AgencySpec",
    "Credentials",
    "Outcome",
    "Reason",
    "build_adapter",
]
