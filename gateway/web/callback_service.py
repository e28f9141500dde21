"""The one `CallbackService` of an app, built on first use from the app's services."""

from __future__ import annotations

import datetime as dt
import threading

from flask import current_app

from gateway.decision.document import make_decider
from gateway.fanout.callbacks import CallbackService, pinned_certificate

_lock = threading.Lock()


def callback_service() -> CallbackService:
    app = current_app
    with _lock:
        service: CallbackService | None = app.extensions.get("nsw-callbacks")
        if service is None:
            services = app.extensions["nsw"]
            config = services.config
            service = CallbackService(
                services.store,
                services.adapters,
                {code: pinned_certificate(config, code) for code in services.specs},
                make_decider(services.identity, services.clock),
                services.clock,
                dt.timedelta(seconds=config.clock_skew_s),
            )
            app.extensions["nsw-callbacks"] = service
        return service
