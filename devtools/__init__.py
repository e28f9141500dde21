"""Developer tools outside the gateway: the demo, stand-in supervision and OMC screenshots.

The one place allowed to start the stand-in agencies (`simulators`); the gateway never imports it."""
