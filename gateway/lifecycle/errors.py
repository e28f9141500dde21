"""What a trader is told when an amendment or a withdrawal cannot be taken (issue 19). Each has
its own problem type; a refused request changes nothing (and is in the trail when it was signed)."""

from __future__ import annotations

from gateway.errors import GatewayError


class NotAllowedToAct(GatewayError):
    code, status, title = (
        "lifecycle-signer-not-allowed",
        403,
        "The signer may not act for the application's declarant",
    )


class UnknownApplication(GatewayError):
    code, status, title = "application-unknown", 404, "There is no such application"


class VersionSuperseded(GatewayError):
    code, status, title = (
        "version-superseded",
        409,
        "The application has a newer version than the one named",
    )


class AfterExit(GatewayError):
    code, status, title = "after-exit", 409, "The vehicle has already exited"


class NotAmendable(GatewayError):
    code, status, title = (
        "not-amendable",
        409,
        "The application cannot be changed in its present state",
    )
