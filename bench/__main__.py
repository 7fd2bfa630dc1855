"""Run every benchmark: `python -m bench [--quick] [--only NAME ...]`.

Each benchmark prints one JSON line per figure as it is measured (value, unit,
the floor measured in the same run, their ratio), then a table of them all.
A benchmark that fails is reported and the others still run; the exit status
is then 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench.figures import Figure, table

# In the order they run: cheap ones first, so a quick look comes quickly.
BENCHMARKS = ["search", "memory", "embedding", "ingest", "load"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs and shorter runs, for a first look")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=f"one or more of {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    failed = []
    started = time.perf_counter()
    for name in args.only or BENCHMARKS:
        print(f"# {name}", file=sys.stderr, flush=True)
        try:
            for figure in importlib.import_module(f"bench.{name}").run(quick=args.quick):
                print(figure.json(), flush=True)
                figures.append(figure)
        except Exception:
            failed.append(name)
            traceback.print_exc()
    print("\n" + table(figures))
    print(f"\n{len(figures)} figures in {time.perf_counter() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
