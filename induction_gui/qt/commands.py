"""Undoable edits: tiny QUndoCommands that change only the document.

Every edit in the window is one of these, pushed on the window's QUndoStack,
so Ctrl+Z undoes anything. Slider drags merge into one command (same merge
key), so undo after a drag restores the value before the drag, not the
previous pixel. Several edits that belong together (a head preset sets four
matrices) are one undo step.

A command is validated before it is pushed: :func:`push_validated` runs each
command's :meth:`DocumentCommand.check` (the document's own ``check_*``, which
raises what the edit would) and pushes nothing if the document refuses, so a
refused edit never becomes an undo step, on any panel. ``redo()`` never
raises: should the document refuse anyway, the command marks itself obsolete
(Qt then drops it) and keeps the message in :attr:`DocumentCommand.error`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..model.document import Document
from ..model.overrides import HeadKey, HeadOverride
from ..model.scenario import Weights

_ids = itertools.count(1000)
# QUndoCommand.id() values; a command merges only with one of the same id
SET_WEIGHT_ID = next(_ids)
SET_OVERRIDE_ID = next(_ids)
SET_TOKENS_ID = next(_ids)


class DocumentCommand(QUndoCommand):
    """An edit of the document that can be checked before it is pushed and whose redo never raises.

    Subclasses implement :meth:`check` (a dry run that raises the ValueError the
    edit would) and :meth:`_apply` (the edit itself) instead of ``redo``.
    """

    error: str | None = None  # why the document refused the last redo (the command is then obsolete)

    def check(self) -> None:
        """Raise the ValueError the document would raise on redo; change nothing."""
        raise NotImplementedError

    def _apply(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        try:
            self._apply()
        except ValueError as exc:  # Qt cannot take an exception from redo(): drop the step instead
            self.error = str(exc)
            self.setObsolete(True)


def push_validated(stack: QUndoStack, commands: DocumentCommand | Sequence[DocumentCommand],
                   text: str | None = None) -> str | None:
    """Push ``commands`` as one undo step if the document accepts every one; else push nothing.

    Several commands become one macro titled ``text``. They are all checked
    against the document as it is now, before any is applied, so the commands
    of one step must be independent (different parameters, heads, ...): one
    whose validity depends on another is folded into a single command instead
    (e.g. :class:`SetModelStateCommand` carries its tokens).

    Returns
    -------
    str | None
        None when pushed; otherwise what is wrong, in the document's words, for
        the caller to show in its error display.
    """
    batch = [commands] if isinstance(commands, DocumentCommand) else list(commands)
    try:
        for command in batch:
            command.check()
    except ValueError as exc:
        return str(exc)
    if not batch:
        return None
    if len(batch) == 1 and text is None:
        stack.push(batch[0])
    else:
        stack.beginMacro(text or batch[0].text())
        try:
            for command in batch:
                stack.push(command)
        finally:
            stack.endMacro()
    return next((c.error for c in batch if c.error), None)


class SetTokensCommand(DocumentCommand):
    """Replace the token sequence (typing merges while ``merge`` is True)."""

    def __init__(self, document: Document, tokens: np.ndarray, text: str = "Edit sequence", *, merge: bool = False):
        super().__init__(text)
        self._doc = document
        self._new = np.asarray(tokens, dtype=np.int64).copy()  # [pos]
        self._old: np.ndarray | None = None
        self._merge = merge

    def check(self) -> None:
        self._doc.check_tokens(self._new)

    def _apply(self) -> None:
        old = self._doc.set_tokens(self._new)
        if self._old is None:
            self._old = old

    def undo(self) -> None:
        assert self._old is not None
        self._doc.set_tokens(self._old)

    def id(self) -> int:
        return SET_TOKENS_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, SetTokensCommand) or not (self._merge and other._merge) or other.error:
            return False
        self._new = other._new
        return True


class SetWeightCommand(DocumentCommand):
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
        self._new = np.array(value, copy=True)  # the dtype given: the document's check names an overflow
        self._old: np.ndarray | None = None
        self._merge_key = merge_key

    @property
    def name(self) -> str:
        return self._name

    def check(self) -> None:
        self._doc.check_weight(self._name, self._new)

    def _apply(self) -> None:
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
            or other.error  # its redo was refused: never take over its value
            or other._name != self._name
            or other._merge_key != self._merge_key
        ):
            return False
        self._new = other._new
        return True


def set_weight_cell(document: Document, name: str, index: tuple[int, ...], value: float) -> SetWeightCommand:
    """A command that sets one entry of a parameter (:func:`push_validated` lets the document check it)."""
    arr = np.array(document.scenario.weights[name], dtype=np.float64)  # float64: a huge value is refused, not cast
    arr[index] = value
    where = ",".join(str(i) for i in index)
    return SetWeightCommand(document, name, arr, f"Set {name}[{where}] = {value:g}")


class SetOverrideCommand(DocumentCommand):
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

    def check(self) -> None:
        self._doc.check_override(self._key, self._new)

    def _apply(self) -> None:
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
            or other.error  # its redo was refused: never take over its value
            or other._key != self._key
            or other._merge_key != self._merge_key
        ):
            return False
        self._new = other._new
        return True


class SetModelStateCommand(DocumentCommand):
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

    def check(self) -> None:
        self._doc.check_model_state(*self._new)

    def _apply(self) -> None:
        old = self._doc.set_model_state(*self._new)
        if self._old is None:
            self._old = old

    def undo(self) -> None:
        assert self._old is not None
        self._doc.set_model_state(*self._old)


class SetMarkovChainCommand(DocumentCommand):
    """Replace the "Markov chain" generator's transition matrix (a saved view setting); undo restores it exactly."""

    def __init__(self, document: Document, chain: list[list[float]], text: str = "Edit Markov chain") -> None:
        super().__init__(text)
        self._doc = document
        self._new = [list(row) for row in chain]  # [k][k]
        self._old: list[list[float]] | None = None  # None: the file had no chain (the default one)
        self._done_once = False

    def check(self) -> None:
        self._doc.check_markov_chain(self._new)

    def _apply(self) -> None:
        old = self._doc.set_markov_chain(self._new)
        if not self._done_once:
            self._old, self._done_once = old, True

    def undo(self) -> None:
        self._doc.set_markov_chain(self._old)
