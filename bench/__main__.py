"""Run the benchmarks: ``python -m bench [--json] [--quick] [--only NAME ...] [--list]``.

Prints a table (metric, value, target, ratio, verdict); with ``--json`` the
last line is one JSON object ``{metric: value}`` for scripts and CI. Timings
are medians; no unit test asserts on time (``--strict`` makes a missed target
the exit status, for a dedicated CI job).
"""

from __future__ import annotations

import os

# Before NumPy is imported anywhere: small matrices are slower and erratic with
# several BLAS threads (see PLATFORM-NOTES "Speed"), and the budgets assume one.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402

from bench import BENCHMARKS, MODULES, Metric  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all metrics")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, noisier)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)

    for module in MODULES:
        importlib.import_module(module)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")

    results: dict[str, Metric] = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.update(BENCHMARKS[name](args.quick))

    _print_table(results)
    if args.json:
        print(json.dumps({k: round(m.value, 4) for k, m in results.items()}), flush=True)
    missed = any(m.ok is False for m in results.values())
    return 1 if args.strict and missed else 0


def _print_table(results: dict[str, Metric]) -> None:
    import numpy as np

    rows = [("metric", "value", "target", "ratio", "verdict")]
    for name, m in results.items():
        target = "-" if m.target is None else f"{m.target:g} {m.unit}"
        ratio = "-" if m.ratio is None else f"{m.ratio:.2f}"
        verdict = {None: "info", True: "ok", False: "OVER BUDGET"}[m.ok]
        rows.append((name, f"{m.value:.3f} {m.unit}", target, ratio, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print(f"# numpy {np.__version__}, python {platform.python_version()}, {platform.machine()}, BLAS threads 1")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
