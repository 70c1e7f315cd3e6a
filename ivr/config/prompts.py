"""The prompt catalogue: what the line says, per language, from prompts/<language>/<area>.toml.

Every language carries the same keys as the reference language (en-US). A key missing in a
language falls back to the region's default language, then to the reference, and the
fallback text is spoken by the voice of the language it is written in, never by the
caller's voice (Mandarin is never read by an English voice, nor English by a Mandarin one).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config.languages import LANGUAGES
from ivr.config.tomlfile import ConfigError, ConfigProblem, TomlDocument, load_toml

REFERENCE_LANGUAGE = "en-US"
# Clock formats differ by language (12 or 24 hours, with or without a.m./p.m.): a language
# may use any of the fields offered for them; every other prompt uses exactly the fields of
# the reference language.
_CLOCK_FIELDS = frozenset({"h12", "h24", "mm", "ampm"})
FREE_FIELDS = {"hours.time": _CLOCK_FIELDS, "hours.time_on_the_hour": _CLOCK_FIELDS}

Text = str | tuple[str, ...]


@dataclass(frozen=True)
class Line:
    """A piece of text and the language whose voice must read it."""

    text: str
    language: str


@dataclass(frozen=True)
class Entry:
    """A prompt's text and where it was written (its line is looked up for a message only)."""

    value: Text
    file: Path
    key: tuple[str, ...] = ()
    document: TomlDocument | None = field(default=None, compare=False, repr=False)

    @property
    def line(self) -> int:
        return self.document.line_of(self.key) if self.document is not None else 1


@dataclass(frozen=True)
class Catalogue:
    """All prompts: language id -> "area.key" -> text (a string, or a list of steps/words)."""

    entries: Mapping[str, Mapping[str, Entry]]

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.entries)

    def has(self, language: str, key: str, fallback: str) -> bool:
        """Whether `key` can be said to a caller of `language` (a line said for some values
        only, such as a reason): in it, in the fallback, or in the reference language."""
        try:
            self._entry(language, key, fallback)
        except KeyError:
            return False
        return True

    def spoken_in(self, language: str, key: str, fallback: str) -> str:
        """The language whose text (and voice) will say `key` for a caller of `language`."""
        return self._entry(language, key, fallback)[1]

    def _entry(self, language: str, key: str, fallback: str) -> tuple[Entry, str]:
        for candidate in (language, fallback, REFERENCE_LANGUAGE):
            entry = self.entries.get(candidate, {}).get(key)
            if entry is not None:
                return entry, candidate
        raise KeyError(f"prompt {key!r} exists in no language")

    def names_under(self, table: str) -> frozenset[str]:
        """The keys of `table` ("agent_line.dispositions") in the reference language, which
        every other language falls back to."""
        prefix = table + "."
        keys = self.entries.get(REFERENCE_LANGUAGE, {})
        return frozenset(key[len(prefix) :] for key in keys if key.startswith(prefix))

    def line(self, language: str, key: str, fallback: str, /, **values: object) -> Line:
        """The text of `key` in `language`, placeholders filled in."""
        entry, spoken_in = self._entry(language, key, fallback)
        if not isinstance(entry.value, str):
            raise TypeError(f"prompt {key!r} is a list; use steps()")
        return Line(entry.value.format(**values), spoken_in)

    def steps(self, language: str, key: str, fallback: str, /, **values: object) -> list[Line]:
        """A list prompt (guidance read out step by step), placeholders filled in."""
        entry, spoken_in = self._entry(language, key, fallback)
        items = (entry.value,) if isinstance(entry.value, str) else entry.value
        return [Line(item.format(**values), spoken_in) for item in items]

    def words(self, language: str, key: str) -> tuple[str, ...]:
        """Speech words for `key` in exactly `language`: words of another language never match."""
        entry = self.entries.get(language, {}).get(key)
        if entry is None:
            return ()
        return (entry.value,) if isinstance(entry.value, str) else entry.value


def load_prompts(directory: Path) -> Catalogue:
    """Read every prompts/<language>/*.toml; refuses unknown languages and malformed values."""
    if not directory.is_dir():
        problem = ConfigProblem(directory, 1, "", "prompts directory not found (set IVR_PROMPTS)")
        raise ConfigError([problem])
    entries: dict[str, dict[str, Entry]] = {}
    problems: list[ConfigProblem] = []
    for language_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        if language_dir.name not in LANGUAGES:
            reason = (
                f"unknown language directory {language_dir.name!r}; known: {', '.join(LANGUAGES)}"
            )
            problems.append(ConfigProblem(language_dir, 1, "", reason))
            continue
        entries[language_dir.name] = {}
        for file in sorted(language_dir.glob("*.toml")):
            try:
                document = load_toml(file)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            _collect(document, file.stem, document.data, (), entries[language_dir.name], problems)
    if REFERENCE_LANGUAGE not in entries:
        problems.append(
            ConfigProblem(
                directory, 1, "", f"the reference language {REFERENCE_LANGUAGE} is missing"
            )
        )
    if problems:
        raise ConfigError(problems)
    catalogue = Catalogue(entries)
    placeholder_problems = [
        p for p in check_prompts(catalogue) if p.reason.startswith("placeholders")
    ]
    if placeholder_problems:
        raise ConfigError(placeholder_problems)
    return catalogue


def _collect(
    document: TomlDocument,
    area: str,
    table: dict[str, Any],
    path: tuple[str, ...],
    into: dict[str, Entry],
    problems: list[ConfigProblem],
) -> None:
    for name, value in table.items():
        here = (*path, name)
        if isinstance(value, dict):
            _collect(document, area, value, here, into, problems)
        elif isinstance(value, str) or (
            isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        ):
            text: Text = value if isinstance(value, str) else tuple(value)
            into[".".join((area, *here))] = Entry(text, document.file, here, document)
        else:
            problems.append(document.problem(here, "a prompt is text or a non-empty list of texts"))


def placeholders(value: Text) -> frozenset[str]:
    items = (value,) if isinstance(value, str) else value
    return frozenset(
        field for item in items for _, field, _, _ in string.Formatter().parse(item) if field
    )


def _fields_fit(key: str, value: Text, reference: Text) -> bool:
    if ".speech." in f".{key}":
        return True
    if key in FREE_FIELDS:
        return placeholders(value) <= FREE_FIELDS[key]
    return placeholders(value) == placeholders(reference)


def check_prompts(
    catalogue: Catalogue, languages: Iterable[str] | None = None
) -> list[ConfigProblem]:
    """Missing keys and placeholder mismatches against the reference language."""
    reference = catalogue.entries[REFERENCE_LANGUAGE]
    problems: list[ConfigProblem] = []
    for language in sorted(languages or catalogue.languages):
        own = catalogue.entries.get(language, {})
        for key, ref_entry in reference.items():
            entry = own.get(key)
            if entry is None:
                problems.append(
                    ConfigProblem(ref_entry.file, ref_entry.line, key, f"missing in {language}")
                )
            elif not _fields_fit(key, entry.value, ref_entry.value):
                allowed = FREE_FIELDS.get(key, placeholders(ref_entry.value))
                expected = ", ".join(sorted(allowed)) or "none"
                reason = f"placeholders differ from {REFERENCE_LANGUAGE} (expected: {expected})"
                problems.append(ConfigProblem(entry.file, entry.line, key, reason))
        for key in own.keys() - reference.keys():
            problems.append(
                ConfigProblem(
                    own[key].file, own[key].line, key, "not a key of the reference language"
                )
            )
    return problems
