"""Shipped data, not code: the agency register, routing and gate rules, corridors and per-agency
mappings. A package only so that the wheel carries these files and `gateway.resources` finds them."""
