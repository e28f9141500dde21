"""The traders' portal (issue 21 item 3): web pages where a trader, signed in with its client
certificate, follows its applications and those of the companies it represents, downloads the
signed decision, receipt and evidence bundle, uploads a signed application, amends or withdraws
it with documents it signed itself, uploads its supporting documents, reads its payment order and
its permits, and registers its notification URL.

Wired into the app by `gateway.portal.wiring.init_portal`; nothing is imported here.
"""
