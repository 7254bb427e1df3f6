"""Errors of the policy domain, under :class:`oversight.errors.OversightError`::

    OversightError
    └── PolicyError                 (500) base of the policy domain
        ├── PolicyInvalid            (422) a policy set, test file or event file has problems;
        │                                  carries every :class:`Problem` (file:line:column)
        └── PolicySourceMissing      (404) a policy path does not exist or holds no policy file
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oversight.errors import OversightError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as plain JSON."""
        return {"file": self.file, "line": self.line, "column": self.column,
                "message": self.message}


class PolicyError(OversightError):
    type = "policy"
    title = "Policy error"


class PolicyInvalid(PolicyError):
    """A policy set (or a test or event file) does not validate; nothing was loaded."""

    type = "policy-invalid"
    title = "The policy does not validate"
    status = 422

    def __init__(self, problems: Sequence[Problem], detail: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        summary = detail or (
            f"{count} problem{'s' if count != 1 else ''} found"
            + (f"; the first: {self.problems[0]}" if self.problems else "")
        )
        super().__init__(summary, problems=[problem.as_dict() for problem in self.problems])


class PolicySourceMissing(PolicyError):
    """A path given as a policy source does not exist or holds no ``.yaml`` file."""

    type = "policy-source-missing"
    title = "Policy file not found"
    status = 404
