"""The `nsw` command."""
