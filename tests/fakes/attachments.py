"""`InMemoryAttachments`: the supporting documents port (gateway.lifecycle.ports.Attachments) over
dicts, with the contract of gateway.storage.attachments.AttachmentStore: bytes kept once by
digest, linked per application, each first upload's message appended to an in-memory trail."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from gateway.lifecycle.ports import LodgedApplication
from gateway.trail.messages import Message


class InMemoryAttachments:
    def __init__(self) -> None:
        self.applications: dict[str, LodgedApplication] = {}
        self.blobs: dict[str, bytes] = {}
        self.links: dict[str, set[str]] = {}
        self.trail: list[tuple[str, Message]] = []
        self._lock = threading.Lock()

    def lodge(self, application_id: str, declarant_bin: str, body: bytes) -> None:
        self.applications[application_id] = LodgedApplication(application_id, declarant_bin, body)

    def lodged(self, application_id: str) -> LodgedApplication | None:
        return self.applications.get(application_id)

    def put(
        self, application_id: str, sha256: str, media_type: str, data: bytes, message: Message
    ) -> bool:
        with self._lock:
            linked = self.links.setdefault(application_id, set())
            if sha256 in linked:
                return False
            self.blobs.setdefault(sha256, data)
            linked.add(sha256)
            self.trail.append((application_id, message))
            return True

    def refused(self, application_id: str, message: Message) -> None:
        with self._lock:
            self.trail.append((application_id, message))

    def uploaded(self, application_id: str) -> frozenset[str]:
        return frozenset(self.links.get(application_id, ()))

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]:
        linked = self.links.get(application_id, set())
        return {d: self.blobs[d] for d in digests if d in linked}
