"""What the electronic checkpoint refuses, in the gateway's one exception tree (RFC 9457 codes)."""

from __future__ import annotations

from gateway.errors import GatewayError


class UnknownDevice(GatewayError):
    code, status, title = "unknown-device", 401, "The device is not registered"


class DeviceCertificateRefused(GatewayError):
    code, status, title = "device-certificate-refused", 401, "The device's certificate is refused"


class DeviceNotForThis(GatewayError):
    code, status, title = "device-not-for-this", 403, "The device may not report this"


class InvalidEvent(GatewayError):
    code, status, title = "invalid-event", 422, "The event is not valid"


class EventIdReused(GatewayError):
    code, status, title = "event-id-reused", 409, "The event id was used for another event"


class StageOutOfOrder(GatewayError):
    code, status, title = "stage-out-of-order", 409, "The stage comes before its turn"


class StageRepeated(GatewayError):
    code, status, title = "stage-repeated", 409, "The stage was already recorded"


class UnknownApplication(GatewayError):
    code, status, title = "unknown-application", 422, "The notice names an unknown application"


class SignerNotCarrier(GatewayError):
    code, status, title = "signer-not-carrier", 403, "The signer may not notify for the carrier"


class NoticeConflict(GatewayError):
    code, status, title = "notice-conflict", 409, "The notice conflicts with an earlier version"


class UnknownCheckpoint(GatewayError):
    code, status, title = "unknown-checkpoint", 422, "The checkpoint is not known"


class NoOpenTransit(GatewayError):
    code, status, title = "no-open-transit", 404, "No transit is open for this vehicle"


class PositionRefused(GatewayError):
    code, status, title = "position-refused", 422, "The position cannot be accepted"


class VisitNotFound(GatewayError):
    code, status, title = "visit-not-found", 404, "There is no such checkpoint visit"


class ActionNotAllowed(GatewayError):
    code, status, title = "action-not-allowed", 409, "The action is not allowed in this state"


class CheckpointClosed(GatewayError):
    code, status, title = "checkpoint-closed", 409, "The checkpoint is closed at this time"
