"""The agency register: mappings/agencies.toml plus deployment endpoints, as `AgencySpec`s."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from adapters.base import AgencySpec
from gateway.errors import ConfigurationError
from gateway.i18n.text import Text


def load_agency_specs(
    mappings_dir: Path, project_root: Path, endpoints: Mapping[str, str]
) -> dict[str, AgencySpec]:
    """Every configured agency. An agency without an endpoint is kept with an empty one: the
    gateway can still accept applications for it, and the dispatcher escalates its cases."""
    path = mappings_dir / "agencies.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))["agencies"]
        return {
            code: AgencySpec(
                code=code,
                name=entry["name"],
                protocol=entry["protocol"],
                endpoint=endpoints.get(code, entry.get("endpoint", "")),
                mapping_dir=mappings_dir / "agencies" / code,
                contract=project_root / entry["contract"],
                timeout_s=float(entry.get("timeout_s", 10)),
                officer=str(entry.get("officer", "")),
                wants_documents=_wants_documents(mappings_dir / "agencies" / code),
            )
            for code, entry in raw.items()
        }
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            Text("The agency register %(path)s cannot be read: %(exc)s", path=path, exc=exc)
        ) from exc


def _wants_documents(mapping_dir: Path) -> tuple[str, ...]:
    """The document types the agency's mapping asks for (documents.toml `wants_documents`)."""
    path = mapping_dir / "documents.toml"
    if not path.is_file():
        return ()
    wants = tomllib.loads(path.read_text(encoding="utf-8"))["wants_documents"]
    if not isinstance(wants, list) or not all(isinstance(w, str) for w in wants):
        raise TypeError(f"{path}: wants_documents must be a list of document type codes")
    return tuple(wants)


def standin_agencies(mappings_dir: Path) -> dict[str, str]:
    """Code -> protocol of every agency of agencies.toml, in file order: the stand-ins that
    `nsw standins` and `nsw demo` start (one `python -m simulators CODE` each)."""
    path = mappings_dir / "agencies.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))["agencies"]
        return {code: str(entry["protocol"]) for code, entry in raw.items()}
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            Text("The agency register %(path)s cannot be read: %(exc)s", path=path, exc=exc)
        ) from exc


def missing_endpoints(specs: Mapping[str, AgencySpec]) -> list[str]:
    """The agencies with no endpoint configured: their cases can only be escalated."""
    return sorted(code for code, spec in specs.items() if not spec.endpoint)


def missing_endpoints_sentence(missing: list[str]) -> str:
    settings = ", ".join(f"NSW_AGENCY_{code.upper()}_URL" for code in missing)
    return (
        f"No endpoint is configured for {', '.join(missing)}: their cases will be escalated. "
        f"Set {settings} (for local use, `nsw standins` starts stand-ins and prints them)."
    )
