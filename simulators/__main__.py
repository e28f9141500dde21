"""`python -m simulators CODE [--host H] [--port P] [--latency-s S] [--error-rate R] [--outage]
[--pki-dir DIR] [--answer-later] [--callback-delay-s S] [--fault FAULT]`

Runs one stand-in agency as a process, prints its URL, and stops cleanly on SIGTERM or SIGINT.
`python -m simulators witness --log-vkey FILE ...` runs a stand-in witness instead (see
`simulators.witness.main`); `python -m simulators treasury [--callback-url URL] ...` runs the
stand-in treasury / bank (see `simulators.treasury.main`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulators.common import FAULTS, stop_event_on_signals
from simulators.server import FACTORIES, start_agency


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["witness"]:  # not an agency: its own options
        from simulators.witness import main as witness_main

        return witness_main(argv[1:])
    if argv[:1] == ["treasury"]:  # not an agency either: payments, not cases
        from simulators.treasury import main as treasury_main

        return treasury_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    parser.add_argument("code", choices=sorted(FACTORIES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--outage", action="store_true")
    parser.add_argument("--pki-dir", type=Path, default=None)
    parser.add_argument("--answer-later", action="store_true")
    parser.add_argument("--callback-delay-s", type=float, default=0.0)
    parser.add_argument("--fault", choices=FAULTS, default=None, help="spoil every answer")
    args = parser.parse_args(argv)

    stop = stop_event_on_signals()
    agency = start_agency(
        args.code,
        args.host,
        args.port,
        latency_s=args.latency_s,
        error_rate=args.error_rate,
        outage=args.outage,
        pki_dir=args.pki_dir,
        answer_later=args.answer_later,
        callback_delay_s=args.callback_delay_s,
        fault=args.fault,
    )
    print(f"{args.code} listening on {agency.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        agency.stop()
    print(f"{args.code} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
