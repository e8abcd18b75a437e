"""A dock whose widget is built the first time the dock is shown or the widget is asked for.

Docks hidden at start (training) or behind another tab (lesson) need not cost
start-up time. A dock of its own is built before it is laid out (in
:meth:`LazyDock.setVisible`), so it takes the size its widget asks for, as if
the widget had been built with the window. A dock tabbed behind another one is
"shown" with the window although nobody sees it: it waits until brought to the
front (its area's size is set by the dock in front).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QDockWidget, QWidget

W = TypeVar("W", bound=QWidget)


class LazyDock(QDockWidget, Generic[W]):
    """A ``QDockWidget`` holding ``factory()``, called once, when first needed."""

    def __init__(self, title: str, parent: QWidget, factory: Callable[[], W], *, tabbed: bool = False) -> None:
        super().__init__(title, parent)
        self._factory = factory
        self._tabbed = tabbed  # built when brought to the front, not when shown with the window
        self._content: W | None = None
        self.setWidget(QWidget())  # stands in for the content until it is built
        # a tabbed dock brought to the front may be shown without setVisible
        self.visibilityChanged.connect(self._on_visibility_changed)

    @property
    def content(self) -> W:
        """The dock's widget, built now if it was not yet."""
        if self._content is None:
            content = self._content = self._factory()
            placeholder = self.widget()
            self.setWidget(content)
            placeholder.deleteLater()
        return self._content

    @property
    def built_content(self) -> W | None:
        """The dock's widget if it was built, else None (asking builds nothing)."""
        return self._content

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt API
        if visible and self._content is None and not self._tabbed:
            _ = self.content
        super().setVisible(visible)

    def _on_visibility_changed(self, visible: bool) -> None:
        if visible and self._content is None:
            _ = self.content
