"""Refusals of supporting documents (issue 19, item 3), each with its own stable problem type
(RFC 9457), at intake (a signed entry) and at upload (the bytes)."""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.lifecycle.attachments import AttachmentProblem, AttachmentRefused


class AttachmentDigestMismatch(GatewayError):
    code, status, title = (
        "attachment-digest-mismatch",
        422,
        "The document is not the one the application signed",
    )


class AttachmentSizeMismatch(GatewayError):
    code, status, title = (
        "attachment-size-mismatch",
        422,
        "The document's size is not the one the application signed",
    )


class AttachmentMediaTypeNotAllowed(GatewayError):
    code, status, title = "attachment-media-type", 415, "This kind of document is not accepted"


class AttachmentContentMismatch(GatewayError):
    code, status, title = (
        "attachment-content-type-mismatch",
        415,
        "The document's content is not of its signed media type",
    )


class AttachmentTooLarge(GatewayError):
    code, status, title = "attachment-too-large", 413, "The document is too large"


class AttachmentEntryInvalid(GatewayError):
    code, status, title = (
        "attachment-entry-invalid",
        422,
        "A supporting document entry is not valid",
    )


class AttachmentNotListed(GatewayError):
    code, status, title = (
        "attachment-not-listed",
        404,
        "The application lists no document with this digest",
    )


_BY_PROBLEM: dict[AttachmentProblem, type[GatewayError]] = {
    AttachmentProblem.DIGEST_MISMATCH: AttachmentDigestMismatch,
    AttachmentProblem.SIZE_MISMATCH: AttachmentSizeMismatch,
    AttachmentProblem.MEDIA_TYPE_NOT_ALLOWED: AttachmentMediaTypeNotAllowed,
    AttachmentProblem.CONTENT_NOT_MEDIA_TYPE: AttachmentContentMismatch,
    AttachmentProblem.TOO_LARGE: AttachmentTooLarge,
    AttachmentProblem.BAD_ENTRY: AttachmentEntryInvalid,
}


def problem_for(refused: AttachmentRefused) -> GatewayError:
    """The problem a refusal of the pure rules is reported as."""
    return _BY_PROBLEM[refused.problem](refused.detail)
