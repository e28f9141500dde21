"""The upload form's request limit, set before anything reads the form (the CSRF check first)."""

from __future__ import annotations

from flask import request

from gateway.web.body import default_limit

FORM_OVERHEAD = 16 * 1024  # the multipart framing and the form's other fields


def allow_upload_size() -> None:
    """The request limit of the upload form: the file limit and the form around it (step 1)."""
    request.max_content_length = default_limit() + FORM_OVERHEAD


def allow_document_size() -> None:
    """The supporting-document form's request limit: the attachment cap and the form around it."""
    from gateway.web.attachments_api import limit

    request.max_content_length = limit() + FORM_OVERHEAD
