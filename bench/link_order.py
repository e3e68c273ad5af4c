#!/usr/bin/env python3
"""Writes crates/mosn/link-order.txt: the functions a profiled mosn runs, in the order the
linker is to place them.

    bench/link_order.py [--no-build]

The linker places the listed functions first and side by side (crates/mosn/build.rs), so
the code mosn runs sits in a few hundred KiB instead of being spread over its whole text:
fewer pages resident (the kernel maps the 64 KiB around every page fault). The request
path's functions end up together too; its req/s did not move (bench/README.md).

How: builds mosn (release) and runs the bench (`run.py --quick`, both I/O models) with mosn
under valgrind's callgrind twice: fresh instances that start, answer and idle (the
`startup` and `idle_conns` scenarios, the latter with 100 connections), then every
plaintext and TLS scenario. The list holds the functions of the binary that ran: first
those the fresh instances ran, then the rest, each group by its functions' own
instructions over all the runs, hottest first. So what an idle instance has touched is one
block, and the request path is packed at its head.

Symbol names carry hashes that change with the toolchain and the dependencies: run this
again after either changes (it prints, as the bench does, how many of the list's names the
binary still has). Python 3 standard library only; needs valgrind.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ORDER_FILE = REPO / "crates" / "mosn" / "link-order.txt"
MOSN = REPO / "target" / "release" / "mosn"
IDLE_SCENARIOS = ["startup", "idle_conns"]
LOAD_SCENARIOS = ["http1_c50_100b", "http1_c50_16k", "http1_close", "h2c_c10_m100", "https_close",
                  "https_c50_16k", "tcp_echo_c50", "tcp_bulk", "bolt_c50", "dubbo_c50"]


def self_costs(profile: Path, costs: collections.Counter) -> None:
    """Adds each function's own instructions from one callgrind output (names not demangled).
    A cost line right after `calls=` is the callee's inclusive cost, not the caller's own."""
    names: dict[str, str] = {}
    current = None
    after_call = False
    for line in profile.read_text(errors="replace").splitlines():
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            kind, ident, name = m.groups()
            if name:
                names[ident] = name.strip()
            if kind == "fn":
                current = names.get(ident)
                if current:
                    costs.setdefault(current, 0)
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if not after_call and current and len(fields) >= 2:
                costs[current] += int(fields[1])
            after_call = False


def profile_bench(scenarios: list[str]) -> collections.Counter:
    """Runs the bench's scenarios with every mosn process under callgrind; their functions'
    own instructions, added up."""
    costs: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="mosn-link-order-") as tmp:
        wrapper = Path(tmp) / "mosn"
        wrapper.write_text("#!/bin/sh\n"
                           f"exec valgrind -q --tool=callgrind --demangle=no --dump-instr=no "
                           f"--callgrind-out-file={tmp}/callgrind.%p {MOSN} \"$@\"\n")
        wrapper.chmod(0o755)
        # Failures under valgrind's slowness (timeouts, a slow start) still profile the code.
        subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--no-direct", "--no-save",
                        "--proxies", "mosn", "mosn_ws", "--mosn-bin", str(wrapper),
                        "--idle-conns", "100", "--scenarios", *scenarios], cwd=REPO, check=False)
        for profile in Path(tmp).glob("callgrind.*"):
            self_costs(profile, costs)
    return costs


def binary_symbols(binary: Path) -> set[str]:
    out = subprocess.run(["nm", "--defined-only", str(binary)], capture_output=True, text=True, check=True).stdout
    return {f[2] for f in (line.split() for line in out.splitlines()) if len(f) == 3 and f[1] in "tT"}


def coverage(symbols: set[str]) -> str:
    """How much of the committed list a binary still has ("kept/listed"): the list goes
    stale as the toolchain and the dependencies change, and the bench reports this."""
    listed = ORDER_FILE.read_text().split() if ORDER_FILE.exists() else []
    return f"{sum(1 for s in listed if s in symbols)}/{len(listed)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-build", action="store_true", help="use target/release/mosn as it is")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "mosn"], cwd=REPO, check=True)
    symbols = binary_symbols(MOSN)
    print(f"names of the current list in this binary: {coverage(symbols)}")

    idle_costs = profile_bench(IDLE_SCENARIOS)
    load_costs = profile_bench(LOAD_SCENARIOS)
    total = idle_costs + load_costs
    hottest = lambda names: sorted(names, key=lambda n: (-total[n], n))  # noqa: E731
    idle = [n for n in idle_costs if n in symbols]
    rest = [n for n in load_costs if n in symbols and n not in idle_costs]
    ran = hottest(idle) + hottest(rest)
    if not idle or not rest:
        print("no profile of mosn's functions was written", file=sys.stderr)
        return 1
    ORDER_FILE.write_text("".join(f"{name}\n" for name in ran))
    print(f"{len(idle)} + {len(rest)} functions -> {ORDER_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
