"""One error tree. The CLI turns every :class:`ForestCarbonError` into a message and exit code 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    file : str
        File name (or table name) the problem is in.
    where : str
        Row number (1-based, as a spreadsheet shows it: header is row 1) or record id; may be empty.
    column : str
        Column (or setting key); may be empty.
    message : str
        What is wrong and what was expected.
    """

    file: str
    where: str
    column: str
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        if self.column.startswith("["):
            parts.append(f"setting {self.column}")
        elif self.column:
            parts.append(f"column '{self.column}'")
        return f"{', '.join(parts)}: {self.message}"


class ForestCarbonError(Exception):
    """Base of every error the toolkit raises on purpose."""


class InputError(ForestCarbonError):
    """One or more problems in the inputs; all are listed at once."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", "", "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            return lines[0]
        return f"{len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)


class ConfigError(InputError):
    """program.toml is missing, unreadable or has an invalid setting."""


class CRSError(InputError):
    """A layer has no CRS, a geographic CRS where a metric one is needed, or mismatching CRSs."""


class OutputError(ForestCarbonError):
    """An output cannot be written (exists without --overwrite, or not writable)."""


def raise_if_any(problems: list[Problem], error: type[InputError] = InputError) -> None:
    """Raise ``error`` listing ``problems`` when there is at least one."""
    if problems:
        raise error(problems)
