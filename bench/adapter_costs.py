"""What one agency call costs the gateway: this thread's CPU per `send`, by agency, with the
crypto calls inside it (the same four `bench/_floor.py` counts) and the HTTP client apart. Not a
test.

    .venv/bin/python bench/adapter_costs.py [-n N] [--top K]

The stand-in agencies run in this process on 127.0.0.1 (their work is in their own threads, so
it is not in these figures); each sample application is sent to every agency its routing names,
N rounds after a warm-up round. Every round sends fresh applications (their own
TraderReference, so their own bytes and signatures): no cache keyed on an application
(`ParsedApplications`) finds one a previous round left, as in the gateway. With --top K,
cProfile (thread CPU) lists the K costliest functions of the adapter calls; it slows code made
of many small calls, so read its shares, not its times.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import requests.sessions
from _corpus import signed_corpus
from _floor import agencies_needed, standin_adapters, warm_up
from fanout_bench import REPO_ROOT

import wire.httpsig
import wire.wsse
from adapters.base import AgencyRequest
from gateway.pki.dev import init_dev_pki
from gateway.resources import shipped

try:
    import adapters.http

    _HTTP = True
except ImportError:  # before the adapters had their own HTTP client
    _HTTP = False

PARTS: tuple[tuple[Any, str], ...] = (
    (wire.wsse, "sign_envelope"),
    (wire.wsse, "verify_envelope"),
    (wire.httpsig, "sign"),
    (wire.httpsig, "verify"),
    (requests.sessions.Session, "send"),
    *([(adapters.http.AgencyConnection, "post")] if _HTTP else []),
)

spent: defaultdict[str, float] = defaultdict(float)
calls: Counter[str] = Counter()


def _wrap(label: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - t0
            calls[label] += 1

    return timed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=30, help="rounds of the samples")
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--only", help="only this agency (code)")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    per_round = len(list(shipped("samples").glob("*.xml")))
    corpus = signed_corpus(pki, per_round * (args.n + 1))
    rounds = [corpus[r * per_round : (r + 1) * per_round] for r in range(args.n + 1)]
    needs = agencies_needed(rounds[0])  # the samples in turn: every round routes alike
    with ExitStack() as stack:
        specs, adapters = standin_adapters(stack, pki)
        warm_up(adapters, rounds[0], needs)
        for owner, name in PARTS:
            setattr(owner, name, _wrap(f"{owner.__name__}.{name}", getattr(owner, name)))
        per_agency: defaultdict[str, float] = defaultdict(float)
        sent: Counter[str] = Counter()
        profile = cProfile.Profile(time.thread_time) if args.top else None
        for rep, samples in enumerate(rounds[1:]):
            for n, (xml, agencies) in enumerate(zip(samples, needs, strict=True)):
                for code in agencies:
                    if args.only and code != args.only:
                        continue
                    request = AgencyRequest(f"B-{time.time_ns()}-{rep}-{n}-{code}", "BENCH", xml)
                    if profile:
                        profile.enable()
                    t0 = time.thread_time()
                    adapters[code].send(request)
                    per_agency[code] += time.thread_time() - t0
                    if profile:
                        profile.disable()
                    sent[code] += 1
        for adapter in adapters.values():
            adapter.close()  # type: ignore[attr-defined]
    print("| agency | CPU per send |")
    print("| --- | ---: |")
    for code, seconds in sorted(per_agency.items()):
        print(f"| {code} ({specs[code].protocol}) | {seconds / sent[code] * 1000:.3f} ms |")
    print("| part | CPU per call | calls |")
    print("| --- | ---: | ---: |")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"| {label} | {seconds / calls[label] * 1000:.3f} ms | {calls[label]} |")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
