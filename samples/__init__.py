"""Shipped data, not code: the sample applications the demo signs and lodges. A package only so
that the wheel carries these files and `gateway.resources` finds them."""
