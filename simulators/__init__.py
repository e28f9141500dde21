"""Stand-in ministry systems: real HTTP servers speaking the agency contracts in wsdl/.

They share nothing with the gateway package but those contract files. Start one with
`simulators.server.start_agency(code)` or `python -m simulators CODE --port N`.
"""
