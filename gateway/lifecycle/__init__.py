"""An application's life after lodging: what an amendment changes and who must look again, when a
withdrawal is allowed, and which supporting documents are acceptable. Pure rules over domain
values (`changes`, `rules`, `attachments`; the rules themselves are data: mappings/lifecycle.toml),
and the service that verifies a signed withdrawal or new version and writes it through its port
(`service`, `ports`; issue 19)."""
