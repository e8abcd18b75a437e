"""The exceptions a hand-written file can raise, each carrying the JSON path of the problem.

Teachers edit scenario and lesson files by hand, so every complaint has to
point at the place to fix: ``tokens[7]: id 40 is outside the vocabulary 0..11``.
Keeping the path, the explanation and the file apart lets the command line,
the window and the tests each use the part they need.
"""

from __future__ import annotations

from typing import Self


class FileError(ValueError):
    """A file or object is invalid; the message names the JSON path and what was expected.

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
        return (_rebuild, (type(self), self.path, self.detail, self.file))

    def in_file(self, file: str) -> Self:
        """The same error, attributed to ``file`` (kept if already attributed)."""
        if self.file is not None:
            return self
        return type(self)(self.path, self.detail, file=file)


class ScenarioError(FileError):
    """A scenario file or object is invalid; the message names the JSON path and what was expected."""


class LessonError(FileError):
    """A lesson file is invalid; the message names the file, the JSON path and what was expected."""


def _rebuild(cls: type[FileError], path: str, detail: str, file: str | None) -> FileError:
    return cls(path, detail, file=file)
