"""What crosses the wire, read the same way by the gateway and its adapters: the one hardened XML
parser (`wire.xmlparse`) and the one reader of certificates and CRLs (`wire.certificates`).

It imports neither `gateway` nor `adapters` nor `simulators` (an import contract checks this), so
both sides of the gateway can use it; the stand-in agencies keep their own parsing on purpose.
"""
