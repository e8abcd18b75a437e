"""The analysis of one document: every number the app shows, computed once, when asked.

Views, lesson checks, the command line and notebooks ask :meth:`Analysis.get`
for a named entry (see :mod:`.entries`). A value is memoized on the revisions
of the inputs its entry declares, so an edit recomputes only what depends on
it, and a value nobody asks for is never computed. Slow entries go to an
executor (a worker thread in the window) and answer :class:`Pending` until they
are done; a newer edit cancels a job whose inputs it changed.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..model.events import Change, EventGroup, ModelReplaced, VocabChanged
from . import entries as _entries  # noqa: F401 - registers every entry
from .context import Context, State, params_key
from .registry import ENTRIES, Cancelled, NotDefined, drain
from .results import Results, compute_results

if TYPE_CHECKING:
    from ..model.document import Document

Key = tuple[str, tuple]


@dataclass(frozen=True)
class Pending:
    """A slow entry not computed yet: what a view shows meanwhile ("computing… 40 of 200")."""

    done: int = 0
    total: int = 0

    def __str__(self) -> str:
        return f"computing… {self.done} of {self.total}" if self.total else "computing…"


class Job(Protocol):
    """A slow entry running somewhere; the analysis only ever cancels it."""

    def cancel(self) -> None: ...


class Executor(Protocol):
    """Runs a slow entry's generator off the GUI thread and reports back on it."""

    def submit(self, work: Callable[[], Iterator[tuple[int, int]]], *, progress: Callable[[int, int], None],
               done: Callable[[Any], None], failed: Callable[[str], None]) -> Job: ...


@dataclass
class _Running:
    stamp: tuple
    job: Job
    pending: Pending


class Analysis:
    """Memoized entries over a live document, or over a fixed :class:`State` (pinned, headless).

    Events (``analysis.events.<name>.connect(callback)``):

    - ``results(results)``: a new forward pass is in (the views redraw).
    - ``ready(name)``: a slow entry finished (views showing "computing…" redraw).
    - ``progress(name, pending)``: a slow entry made progress.
    - ``pinned(analysis_or_none)``: the compare baseline was pinned or cleared.
    """

    def __init__(self, document: Document | None = None, *, state: State | None = None,
                 executor: Executor | None = None) -> None:
        if (document is None) == (state is None):
            raise ValueError("an analysis reads either a document or a fixed state")
        self.document = document
        self._state = state
        self.executor = executor
        self.events = EventGroup("results", "ready", "progress", "pinned")
        self._memo: dict[Key, tuple[tuple, Any]] = {}
        self._running: dict[Key, _Running] = {}
        self._results: Results | None = None
        self.pinned: Analysis | None = None
        # the last entry names computed, oldest first (tests and the bench read it; bounded for long sessions)
        self.computed: deque[str] = deque(maxlen=1000)
        if document is not None:
            document.events.scenario.connect(self._on_document_changed)

    @classmethod
    def of(cls, weights: Any, tokens: Any, overrides: Any = None, *, bos: int | None = None, seed: int = 0,
           vocab: tuple[str, ...] = ()) -> Analysis:
        """A headless analysis of one model and sequence (the command line and notebooks)."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
        return cls(state=State(weights, tokens, dict(overrides or {}), bos, seed, tuple(vocab)))

    def detach(self) -> None:
        """Stop following the document and cancel every running job."""
        if self.document is not None:
            self.document.events.scenario.disconnect(self._on_document_changed)
        self._cancel_all()

    # -- state -------------------------------------------------------------------------------
    def state(self, copy: bool = False) -> State:
        """The inputs now (``copy``: deep copies a worker may keep)."""
        if self._state is not None:
            return self._state
        assert self.document is not None
        return State.of(self.document, copy=copy)

    @property
    def scenario(self) -> Any:
        """The live document's scenario (lesson checks read tokens, vocabulary and heads from it)."""
        assert self.document is not None
        return self.document.scenario

    def override(self, key: tuple[int, int]) -> Any:
        """The live document's experiment on one head (lesson checks read ablation and key shift)."""
        assert self.document is not None
        return self.document.override(key)

    @property
    def generation(self) -> int:
        return self.document.generation if self.document is not None else 0

    # -- the forward pass ----------------------------------------------------------------------
    @property
    def is_stale(self) -> bool:
        return self._results is None or self._results.generation != self.generation

    @property
    def results(self) -> Results:
        """The forward pass of the current state, computed now if stale (synchronous fallback)."""
        if self.is_stale:
            self.recompute()
        assert self._results is not None
        return self._results

    @property
    def latest_results(self) -> Results | None:
        """The last forward pass applied, possibly stale (what the views show right now)."""
        return self._results

    def recompute(self) -> Results:
        """Run the forward pass of the current state on this thread and announce it."""
        s = self.state()
        results = compute_results(s.weights, s.tokens, s.overrides, self.generation)
        self.apply_results(results)
        return results

    def apply_results(self, results: Results) -> bool:
        """Take a forward pass computed for the current generation; drop a stale one (returns False)."""
        if results.generation != self.generation:
            return False
        self._results = results
        self.events.results.emit(results)
        return True

    # -- entries -------------------------------------------------------------------------------
    def get(self, name: str, /, **params: Any) -> Any:
        """The value of entry ``name`` for the current state, or :class:`Pending` for a slow one in progress."""
        entry = ENTRIES[name]
        if self._results is None and "forward" in entry.inputs:
            self.recompute()  # nothing drawn yet (just opened): the forward pass first, once
        key = (name, params_key(params))
        stamp = self._stamp(entry.resolved_inputs(params))
        hit = self._memo.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        if self.executor is None or not entry.is_slow(self.state()):
            try:
                value = drain(entry.compute(self._context(), **params))
            except NotDefined as exc:
                value = NotDefinedHere(name, str(exc))
            self._memo[key] = (stamp, value)
            self.computed.append(name)
            return value
        running = self._running.get(key)
        if running is not None and running.stamp == stamp:
            return running.pending
        if running is not None:
            running.job.cancel()
        return self._submit(key, stamp, params)

    def peek(self, name: str, /, **params: Any) -> Any:
        """The memoized value if it is current, else None; never computes (for cheap "is it there" checks)."""
        entry = ENTRIES[name]
        hit = self._memo.get((name, params_key(params)))
        if hit is not None and hit[0] == self._stamp(entry.resolved_inputs(params)):
            return hit[1]
        return None

    def _context(self) -> Context:
        # entries read the results the views draw (possibly a generation behind while a worker runs)
        return Context(self.state(), self._results, lookup=self.get)

    def _stamp(self, inputs: tuple[str, ...]) -> tuple:
        """What the inputs' revisions are now; equal stamps mean an unchanged value."""
        if self.document is None:
            return ()
        revisions = self.document.revisions
        stamp: list[int] = [revisions.get("model", 0)]
        for name in inputs:
            if name == "forward":  # the results on screen (a worker may be computing newer ones)
                stamp.append(-1 if self._results is None else self._results.generation)
            elif "*" in name:
                stamp.append(max((g for k, g in revisions.items() if fnmatch.fnmatchcase(k, name)), default=0))
            else:
                stamp.append(revisions.get(name, 0))
        return tuple(stamp)

    def _submit(self, key: Key, stamp: tuple, params: dict[str, Any]) -> Pending:
        name = key[0]
        entry = ENTRIES[name]
        # a private memo: never touches ours from a thread; an entry that declares no weights reads the results
        # and the sequence, not the weights, so its worker needs no copy of them (200 MB at a real vocabulary)
        copy = any(name.startswith("weights/") for name in entry.inputs)
        context = Context(self.state(copy=copy), self._results)
        pending = Pending()

        def work() -> Iterator[tuple[int, int]]:
            try:
                values = entry.compute(context, **params)
                if isinstance(values, Iterator):
                    return (yield from values)
                return values
            except NotDefined as exc:
                return NotDefinedHere(name, str(exc))

        def on_progress(done: int, total: int) -> None:
            running = self._running.get(key)
            if running is not None and running.stamp == stamp:
                running.pending = Pending(done, total)
                self.events.progress.emit(name, running.pending)

        def on_done(value: Any) -> None:
            running = self._running.get(key)
            if running is None or running.stamp != stamp:
                return  # superseded: a newer job owns this key
            del self._running[key]
            if stamp == self._stamp(entry.resolved_inputs(params)):
                self._memo[key] = (stamp, value)
                self.computed.append(name)
                self.events.ready.emit(name)

        def on_failed(message: str) -> None:
            running = self._running.get(key)
            if running is not None and running.stamp == stamp:
                del self._running[key]
                self._memo[key] = (stamp, EntryFailed(name, message))
                self.events.ready.emit(name)

        assert self.executor is not None
        job = self.executor.submit(work, progress=on_progress, done=on_done, failed=on_failed)
        self._running[key] = _Running(stamp, job, pending)
        return pending

    @property
    def running(self) -> list[str]:
        """Names of the slow entries being computed now."""
        return [key[0] for key in self._running]

    # -- invalidation ---------------------------------------------------------------------------
    def _on_document_changed(self, change: Change) -> None:
        if isinstance(change, (VocabChanged, ModelReplaced)):
            self._memo.clear()
            self._results = None  # old results may name token ids the new vocabulary lacks
            if isinstance(change, ModelReplaced):
                self.unpin()
        # a job whose inputs this edit changed can only produce an outdated value: stop it now
        for key, running in list(self._running.items()):
            entry = ENTRIES[key[0]]
            if running.stamp != self._stamp(entry.resolved_inputs(dict(key[1]))):
                running.job.cancel()
                del self._running[key]

    def _cancel_all(self) -> None:
        for running in self._running.values():
            running.job.cancel()
        self._running.clear()

    # -- compare ----------------------------------------------------------------------------------
    def pin(self) -> Analysis:
        """Keep the current state as the compare baseline: a second, frozen analysis over a copy."""
        frozen = Analysis(state=self.state(copy=True))
        frozen._results = self.results
        self.pinned = frozen
        self.events.pinned.emit(frozen)
        return frozen

    def unpin(self) -> None:
        if self.pinned is not None:
            self.pinned = None
            self.events.pinned.emit(None)

    def comparable(self, results: Results) -> bool:
        """True if the pinned results can be subtracted from ``results`` (same shapes)."""
        p = self.pinned.results if self.pinned is not None else None
        # the tokens and the cache fix the logits' shape too; comparing those would wait for a large model's logits
        return p is not None and p.tokens.shape == results.tokens.shape and set(p.cache) == set(results.cache) and all(
            p.cache[k].shape == results.cache[k].shape for k in p.cache
        )


@dataclass(frozen=True)
class EntryFailed:
    """A slow entry raised: views show the message instead of a number."""

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name} could not be computed: {self.message}"


class NotDefinedHere(EntryFailed):
    """An entry that does not exist for this model: views show the sentence instead of a number."""

    def __str__(self) -> str:
        return f"not defined for this model: {self.message}"


__all__ = ["Analysis", "Cancelled", "EntryFailed", "Executor", "NotDefinedHere", "Pending", "State"]
