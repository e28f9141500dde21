"""Where the gateway finds what it ships and where it keeps what it writes.

**Shipped data** — contracts (`wsdl/`), rules and mappings (`mappings/`), the sample applications
(`samples/`) and the Alembic migrations (`migrations/`) — stays at the top of the repository, where
a ministry's engineer looks for it, and is installed as top-level packages beside `gateway`. It is
found with `importlib.resources`, so the same code reads the checkout (editable install) and an
installed wheel, from any working directory. zeep, lxml (XSD includes) and Alembic want real file
names, so a package must be a directory on disk: a regular wheel install is; a zipped one is
refused with a sentence rather than half working. Shipped data is only ever read.

**Mutable state** — the dev PKI, the SQLite database, the demo's files and logs — lives under one
data directory, `NSW_HOME`, never inside the installed package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text

SHIPPED = ("wsdl", "mappings", "samples", "migrations")


def shipped(name: str) -> Path:
    """The directory of the shipped data package `name` (one of `SHIPPED`), as a real path."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped data; known: {', '.join(SHIPPED)}")
    try:
        root = resources.files(name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            Text(
                "The gateway's %(name)s/ data is not installed with it; reinstall the nsw-gateway "
                "package.",
                name=name,
            )
        ) from exc
    if not isinstance(root, Path) or not root.is_dir():
        raise ConfigurationError(
            Text(
                "The gateway's %(name)s/ data is not a directory on disk (%(root)s); install the "
                "nsw-gateway wheel unzipped (pip does), since the XML tools need real file names.",
                name=name,
                root=root,
            )
        )
    return root


def shipped_file(relative: str) -> Path:
    """A shipped file named from the project's top, e.g. `wsdl/customs/customs.wsdl`."""
    package, _, rest = relative.partition("/")
    return shipped(package) / rest


def contracts_root() -> Path:
    """The directory that holds `wsdl/`: agency contracts in `agencies.toml` are named from it
    (`wsdl/customs/customs.wsdl`). The checkout's top in development, site-packages once
    installed; an absolute contract path is used as it is."""
    return shipped("wsdl").parent


def nsw_home(env: Mapping[str, str] | None = None) -> Path:
    """The data directory: `NSW_HOME`, else `$XDG_DATA_HOME/nsw`, else `~/.local/share/nsw`.

    Only named here, never created: whoever writes into it makes what it needs."""
    env = os.environ if env is None else env
    if env.get("NSW_HOME"):
        return Path(env["NSW_HOME"]).expanduser().absolute()
    base = env.get("XDG_DATA_HOME") or str(
        Path(env.get("HOME") or Path.home()) / ".local" / "share"
    )
    return Path(base).expanduser().absolute() / "nsw"


def default_pki_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the dev PKI is made and read unless `NSW_PKI_DIR` says otherwise."""
    return nsw_home(env) / "pki"


def default_database_url(env: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{nsw_home(env) / 'nsw.db'}"
