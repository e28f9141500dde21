"""Shipped data, not code: the contracts (XSD, WSDL, OpenAPI). A package only so that the wheel
carries these files and `gateway.resources` finds them with importlib.resources."""
