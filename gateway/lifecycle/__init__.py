"""An application's life after lodging: what an amendment changes and who must look again, when a
withdrawal is allowed, and which supporting documents are acceptable. Pure rules over domain
values; the rules themselves are data (mappings/lifecycle.toml)."""
