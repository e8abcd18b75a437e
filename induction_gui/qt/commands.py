"""Undoable edits: tiny QUndoCommands that change only the document.

Every edit in the window is one of these, pushed on the window's QUndoStack,
so Ctrl+Z undoes anything. Slider drags merge into one command (same merge
key), so undo after a drag restores the value before the drag, not the
previous pixel. Several edits that belong together (a head preset sets four
matrices) go in a macro: ``stack.beginMacro(...)`` ... ``stack.endMacro()``.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtGui import QUndoCommand

from ..model.document import Document
from ..model.overrides import HeadKey, HeadOverride
from ..model.scenario import Weights

_ids = itertools.count(1000)
# QUndoCommand.id() values; a command merges only with one of the same id
SET_WEIGHT_ID = next(_ids)
SET_OVERRIDE_ID = next(_ids)
SET_TOKENS_ID = next(_ids)


class SetTokensCommand(QUndoCommand):
    """Replace the token sequence (typing merges while ``merge`` is True)."""

    def __init__(self, document: Document, tokens: np.ndarray, text: str = "Edit sequence", *, merge: bool = False):
        super().__init__(text)
        self._doc = document
        self._new = np.asarray(tokens, dtype=np.int64).copy()  # [pos]
        self._old: np.ndarray | None = None
        self._merge = merge

    def redo(self) -> None:
        old = self._doc.set_tokens(self._new)
        if self._old is None:
            self._old = old

    def undo(self) -> None:
        assert self._old is not None
        self._doc.set_tokens(self._old)

    def id(self) -> int:
        return SET_TOKENS_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, SetTokensCommand) or not (self._merge and other._merge):
            return False
        self._new = other._new
        return True


class SetWeightCommand(QUndoCommand):
    """Replace one parameter array; commands with the same ``merge_key`` merge (drags, typing)."""

    def __init__(
        self,
        document: Document,
        name: str,
        value: np.ndarray,
        text: str | None = None,
        *,
        merge_key: object = None,
    ) -> None:
        super().__init__(text or f"Edit {name}")
        self._doc = document
        self._name = name
        self._new = np.array(value, copy=True)
        self._old: np.ndarray | None = None
        self._merge_key = merge_key

    @property
    def name(self) -> str:
        return self._name

    def redo(self) -> None:
        old = self._doc.set_weight(self._name, self._new)
        if self._old is None:
            self._old = old

    def undo(self) -> None:
        assert self._old is not None
        self._doc.set_weight(self._name, self._old)

    def id(self) -> int:
        return SET_WEIGHT_ID if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if (
            not isinstance(other, SetWeightCommand)
            or other._name != self._name
            or other._merge_key != self._merge_key
        ):
            return False
        self._new = other._new
        return True


def set_weight_cell(document: Document, name: str, index: tuple[int, ...], value: float) -> SetWeightCommand:
    """A command that sets one entry of a parameter (validated by the document on redo)."""
    arr = document.scenario.weights[name].copy()
    arr[index] = value
    where = ",".join(str(i) for i in index)
    return SetWeightCommand(document, name, arr, f"Set {name}[{where}] = {value:g}")


class SetOverrideCommand(QUndoCommand):
    """Change one head's lecture experiment; ``merge_key`` merges slider drags."""

    def __init__(
        self,
        document: Document,
        key: HeadKey,
        override: HeadOverride | None,
        text: str = "Change head settings",
        *,
        merge_key: object = None,
    ) -> None:
        super().__init__(text)
        self._doc = document
        self._key = key
        self._new = override
        self._old: HeadOverride | None = None
        self._done_once = False
        self._merge_key = merge_key

    def redo(self) -> None:
        old = self._doc.set_override(self._key, self._new)
        if not self._done_once:
            self._old, self._done_once = old, True

    def undo(self) -> None:
        self._doc.set_override(self._key, self._old)

    def id(self) -> int:
        return SET_OVERRIDE_ID if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if (
            not isinstance(other, SetOverrideCommand)
            or other._key != self._key
            or other._merge_key != self._merge_key
        ):
            return False
        self._new = other._new
        return True


class SetModelStateCommand(QUndoCommand):
    """Replace vocabulary, weights and tokens together (extending the vocabulary)."""

    def __init__(
        self,
        document: Document,
        vocab: list[str],
        weights: Weights,
        tokens: np.ndarray,
        bos: int | None,
        text: str = "Extend vocabulary",
    ) -> None:
        super().__init__(text)
        self._doc = document
        self._new = (list(vocab), weights, np.asarray(tokens, dtype=np.int64), bos)
        self._old: tuple | None = None

    def redo(self) -> None:
        old = self._doc.set_model_state(*self._new)
        if self._old is None:
            self._old = old

    def undo(self) -> None:
        assert self._old is not None
        self._doc.set_model_state(*self._old)
