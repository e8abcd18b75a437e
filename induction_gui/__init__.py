"""Induction Head Explorer: watch attention heads form the induction circuit.

``import induction_gui`` stays instant and display-free: the scenario API below
is imported on first use (it pulls in NumPy), and Qt only ever by the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"  # keep in step with pyproject.toml (a test checks it)

_LAZY = {
    "Scenario": "induction_gui.model.scenario",
    "ScenarioError": "induction_gui.model.errors",
    "list_presets": "induction_gui.model.scenario",
    "load_scenario": "induction_gui.model.scenario",
    "save_scenario": "induction_gui.model.scenario",
}

if TYPE_CHECKING:
    from .model.errors import ScenarioError
    from .model.scenario import Scenario, list_presets, load_scenario, save_scenario

__all__ = ["Scenario", "ScenarioError", "__version__", "list_presets", "load_scenario", "save_scenario"]


def __getattr__(name: str) -> object:
    """Import the scenario API on first access (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'induction_gui' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
