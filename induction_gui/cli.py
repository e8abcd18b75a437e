"""Headless verbs of ``induction-gui``: presets, check, export.

Never imports Qt (an import-linter contract enforces it), so these verbs start
fast, run over SSH and in CI, and give notebooks the same numbers as the window.
Exit codes: 0 success, 1 internal error (a bug: the traceback is printed),
2 bad input (one clear line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input; the message is shown as it is and the exit code is 2."""


def _cmd_presets(args: argparse.Namespace, out: TextIO) -> int:
    from .model.scenario import list_presets

    presets = list_presets()
    width = max((len(name) for name, _ in presets), default=0)
    for name, description in presets:
        out.write(f"{name:<{width}}  {description}\n")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .model.check import check_scenario_file

    status = EXIT_OK
    for file in args.files:
        problems = check_scenario_file(file)
        if problems:
            status = EXIT_BAD_INPUT
            for problem in problems:
                sys.stderr.write(f"{file}: {problem}\n")
        elif not args.quiet:
            out.write(f"{file}: ok\n")
    return status


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from .engine import TokenError
    from .engine.sequences import UnknownTokenError
    from .model.export import export_scenario
    from .model.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    try:
        written = export_scenario(scenario, Path(args.out), text=args.text, source=args.scenario)
    except (UnknownTokenError, TokenError) as exc:
        where = "--text" if args.text is not None else args.scenario
        vocab = ", ".join(scenario.vocab)
        hint = f" (the vocabulary is: {vocab})" if isinstance(exc, UnknownTokenError) else ""
        raise UsageError(f"{where}: {exc}{hint}") from None
    if not args.quiet:
        for path in written:
            out.write(f"wrote {path}\n")
    return EXIT_OK


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace, TextIO], int], str]] = {
    "presets": (_cmd_presets, "list the built-in scenarios with a one-line description"),
    "check": (_cmd_check, "validate scenario files; exit 2 with one line per problem"),
    "export": (_cmd_export, "write cache.npz, logits.npy, metrics.json and pattern CSVs"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every headless verb (also used to print the usage)."""
    parser = argparse.ArgumentParser(
        prog="induction-gui",
        description=(
            "Induction Head Explorer: edit token sequences and attention-head weights and "
            "watch attention patterns, copied representations and circuit metrics change."
        ),
        epilog="Without a sub-command, induction-gui [NAME|FILE] opens the explorer window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("presets", help=COMMANDS["presets"][1], description=COMMANDS["presets"][1])

    p = sub.add_parser("check", help=COMMANDS["check"][1], description=COMMANDS["check"][1])
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario files (*.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")

    p = sub.add_parser("export", help=COMMANDS["export"][1], description=COMMANDS["export"][1])
    p.add_argument("scenario", metavar="NAME|FILE", help="a preset name (see 'presets') or a scenario file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--text", metavar="TEXT", help="run on this text instead of the scenario's tokens")
    p.add_argument("-q", "--quiet", action="store_true", help="do not list the files written")
    return parser


def print_usage(stream: TextIO) -> None:
    """The help of every headless verb (``induction-gui --help`` prints it after the window's)."""
    build_parser().print_help(stream)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one verb and return its exit code; bad input never shows a traceback."""
    from .engine import TokenError, WeightsError
    from .engine.sequences import UnknownTokenError
    from .model.scenario import ScenarioError

    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return EXIT_OK
    handler = COMMANDS[args.command][0]
    try:
        return handler(args, out)
    except (ScenarioError, WeightsError, TokenError, UnknownTokenError, UsageError) as exc:
        sys.stderr.write(f"induction-gui {args.command}: {exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        sys.stderr.write(f"induction-gui {args.command}: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"induction-gui {args.command}: interrupted\n")
        return 130
    except Exception:  # noqa: BLE001 - a bug: say so with the traceback, exit 1
        sys.stderr.write(f"induction-gui {args.command}: internal error, please report it:\n")
        traceback.print_exc()
        return EXIT_INTERNAL
