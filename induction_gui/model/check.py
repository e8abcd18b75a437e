"""Validate a scenario file without opening it: what ``induction-gui check`` reports.

Loading is the validation (one code path, so ``check`` can never pass a file the
window would refuse); this module only turns the outcome into report lines.
"""

from __future__ import annotations

import os

from .scenario import ScenarioError, load_scenario


def check_scenario_file(path: str | os.PathLike[str]) -> list[str]:
    """Problems found in the scenario file at ``path``; an empty list means valid.

    Each problem is one line naming the JSON path and what was expected.
    """
    from .model_folder import is_model_path, scenario_from_model  # a TransformerLens model folder is checked too

    try:
        if is_model_path(path):
            scenario_from_model(path)
        else:
            load_scenario(os.fspath(path))
    except ScenarioError as exc:
        # the caller prefixes the file it asked about; name another file (a sibling weights file) only
        file = exc.file if exc.file not in (None, os.path.basename(os.fspath(path))) else None
        message = ": ".join(part for part in (file, exc.path, exc.detail) if part)
        return [" ".join(message.split())]  # one line, whatever the message holds
    return []
