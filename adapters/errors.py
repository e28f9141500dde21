"""Adapter-internal errors. Adapters turn both into `AgencyCallFailed` (adapters/base.py) before
they reach the gateway core, keeping the exchanged bytes for the trail."""

from __future__ import annotations


class MappingFailed(ValueError):
    """The mapping could not produce a request that conforms to the agency's contract."""


class MalformedAnswer(ValueError):
    """The answer does not carry what the mapping says it must, or carries it in a bad form."""
