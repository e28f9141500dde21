"""Agency adapters: one interface (base), a SOAP and a REST implementation, chosen by protocol."""

from adapters.base import (
    AgencyAdapter,
    AgencyAnswer,
    AgencyAnswerUntrusted,
    AgencyCallFailed,
    AgencyRequest,
    AgencySpec,
    Outcome,
    Reason,
)
from adapters.credentials import Credentials
from adapters.registry import build_adapter
from adapters.rest import RequestSigner, RestAdapter
from adapters.soap import SoapAdapter

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
    "RequestSigner",
    "RestAdapter",
    "SoapAdapter",
    "build_adapter",
]
