"""Entry script of the frozen app: the same ``induction_gui.app:main`` the installed command runs.

PyInstaller needs a script file rather than an entry point. One executable serves
both the window and the headless sub-commands (``presets``, ``check``, ``export``,
``train``, ``export-script``), since ``app.main`` dispatches on the first argument.
"""

from __future__ import annotations

import os
import sys


def _ensure_streams() -> None:
    """A windowed Windows/macOS build has no console: sys.stdout/stderr are None and print() would raise.

    Writing to the null device instead keeps ``--help`` and error messages from
    crashing the window; the console executable (``induction-gui-cli``) is the one
    to use for the sub-commands there.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process


if __name__ == "__main__":
    _ensure_streams()
    from induction_gui.app import main

    sys.exit(main())
