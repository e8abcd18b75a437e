"""The one exception a scenario file can raise, carrying the JSON path of the problem.

Teachers edit scenario files by hand, so every complaint has to point at the
place to fix: ``tokens[7]: id 40 is outside the vocabulary 0..11``. Keeping the
path, the explanation and the file apart lets the command line, the window and
the tests each use the part they need.
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file or object is invalid; the message names the JSON path and what was expected.

    Attributes
    ----------
    path
        JSON path of the offending value (``model.weights["embed.W_E"]``), or
        ``""`` when the problem concerns the file as a whole.
    detail
        what is wrong and what was expected.
    file
        name of the file being read, or ``None`` for an in-memory document.
    """

    def __init__(self, path: str, detail: str, *, file: str | None = None) -> None:
        self.path = path
        self.detail = detail
        self.file = file
        super().__init__(self._message())

    def _message(self) -> str:
        return ": ".join(part for part in (self.file, self.path, self.detail) if part)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> tuple[object, ...]:
        # The default reduce would call __init__ with the composed message only.
        return (_rebuild, (self.path, self.detail, self.file))

    def in_file(self, file: str) -> ScenarioError:
        """The same error, attributed to ``file`` (kept if already attributed)."""
        if self.file is not None:
            return self
        return ScenarioError(self.path, self.detail, file=file)


def _rebuild(path: str, detail: str, file: str | None) -> ScenarioError:
    return ScenarioError(path, detail, file=file)
