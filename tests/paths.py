"""The repository's own directories, for tests that run things from the checkout. Shipped data
(samples, mappings, contracts) is read through `gateway.resources` instead, as the gateway does."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
