"""Qt-free application state: the scenario, its file format, and (later) the open document.

Nothing here imports Qt, so the command line and tests use the same objects
as the window.
"""

from .errors import ScenarioError
from .scenario import (
    COLORMAPS,
    CURRENT_VERSION,
    FORMAT,
    MIGRATIONS,
    Scenario,
    dumps_scenario,
    list_presets,
    load_scenario,
    loads_scenario,
    save_scenario,
)

__all__ = [
    "COLORMAPS",
    "CURRENT_VERSION",
    "FORMAT",
    "MIGRATIONS",
    "Scenario",
    "ScenarioError",
    "dumps_scenario",
    "list_presets",
    "load_scenario",
    "loads_scenario",
    "save_scenario",
]
