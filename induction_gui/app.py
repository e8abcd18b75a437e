"""Entry point of ``induction-gui``: sub-commands run headless, anything else opens the window.

Qt is imported only on the window path, so ``induction-gui export ...`` starts
fast and runs on machines without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch: a known sub-command goes to :mod:`induction_gui.cli`; the window comes later.

    Returns the process exit code (0 ok, 1 internal error, 2 bad input).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in cli.COMMANDS or args[0] in ("-h", "--help", "--version")):
        return cli.main(args)
    # The explorer window is not built yet: say what can be done instead of failing.
    cli.print_usage(sys.stdout)
    return 0 if not args else 2


if __name__ == "__main__":  # pragma: no cover - exercised through python -m induction_gui
    sys.exit(main())
