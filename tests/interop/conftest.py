"""What the interoperability tests share: the xmlsec1 executable, a second XML-DSig implementation.
Without it these tests skip on a developer's machine and fail in CI (CI=true)."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is required in CI (apt-get install xmlsec1; .ci/run installs it)")
        pytest.skip("xmlsec1 is not installed (apt-get install xmlsec1) — interop not checked")
    return path
