"""The `nsw` commands that start stand-in agencies: `nsw demo`, `nsw standins` and
`nsw omc screenshots`. The gateway never imports this package: `gateway.cli.main` finds `install`
through the `nsw.cli_plugins` entry point, so an installed gateway without devtools still has every
production command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.config import load_config
from gateway.resources import nsw_home


def install(main: click.Group) -> None:
    """Add the devtools commands to the `nsw` group (and `screenshots` to `nsw omc`)."""
    main.add_command(demo)
    main.add_command(standins)
    main.add_command(portal_screenshots)
    omc = main.commands.get("omc")
    if isinstance(omc, click.Group):
        omc.add_command(screenshots)


@click.command()
@click.option("--workdir", type=click.Path(path_type=Path), help="Default: $NSW_HOME/demo.")
def demo(workdir: Path | None) -> None:
    """Run the whole path: PKI, agencies, gateway, signed samples, decisions, checks."""
    from devtools.demo import run_demo

    config = load_config()
    sys.exit(run_demo(workdir or nsw_home() / "demo", config.pki_dir))


@click.command()
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the export lines here (written once all are up, removed when stopped).",
)
@click.option(
    "--base-port",
    type=int,
    help="The first agency of mappings/agencies.toml on this port, the others and the trader inbox "
    "on the next ones [default: free ports].",
)
@click.option(
    "--pki-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Certificates the stand-ins sign with [default: NSW_PKI_DIR, else certs/dev].",
)
@click.option(
    "--gateway-url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Where the treasury confirms payments (the gateway's /api/v1/payments/callback).",
)
def standins(
    env_file: Path | None, base_port: int | None, pki_dir: Path | None, gateway_url: str
) -> None:
    """Run the stand-in agencies (mappings/agencies.toml), the treasury and a trader inbox on
    127.0.0.1 until Ctrl-C.

    Prints the `export NSW_AGENCY_<CODE>_URL=...` lines that point `nsw serve` at them."""
    from devtools.standins import run_standins

    pki_dir = pki_dir or load_config().pki_dir
    if not (pki_dir / "root-ca.pem").is_file():
        raise click.ClickException(f"There is no PKI in {pki_dir}: run `nsw pki init` first.")
    run_standins(
        pki_dir,
        base_port,
        env_file,
        gateway_url=gateway_url,
        echo=lambda line: click.echo(line),
        note=lambda line: click.echo(line, err=True),
    )


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--chromium", default="/usr/bin/chromium", show_default=True)
@click.option("--lang", "languages", multiple=True, default=("en",), show_default=True,
              help="A language to photograph the OMC in; repeat for several.")  # fmt: skip
def screenshots(directory: Path, chromium: str, languages: tuple[str, ...]) -> None:
    """Run a gateway with stand-in agencies and sample traffic, and save pictures of the OMC's
    main views in DIRECTORY, one set per --lang (needs Chromium and the `playwright` package; no
    browser download)."""
    from devtools.screenshots import take_screenshots

    for path in take_screenshots(directory, chromium, languages):
        click.echo(str(path))


@click.command("portal-screenshots")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--chromium", default="/usr/bin/chromium", show_default=True)
@click.option("--lang", "languages", multiple=True, default=("en",), show_default=True,
              help="A language to photograph the portal in; repeat for several.")  # fmt: skip
def portal_screenshots(directory: Path, chromium: str, languages: tuple[str, ...]) -> None:
    """Run a gateway with stand-in agencies and one trader's applications, and save pictures of
    the traders' portal in DIRECTORY, one set per --lang (needs Chromium and `playwright`)."""
    from devtools.portal_screenshots import take_portal_screenshots

    for path in take_portal_screenshots(directory, chromium, languages):
        click.echo(str(path))
