"""Reading TOML configuration so that every error can name its file and line.

`tomllib` parses but forgets positions, so a small scanner walks the same text and records
the line where each key path (and each element of a multi-line array) was written.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration file, and where."""

    file: Path
    line: int
    where: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        return f"{self.file}:{self.line}:{where} {self.reason}"


class ConfigError(Exception):
    """A configuration file that must not be used; lists every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (str(p.file), p.line)))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class TomlDocument:
    """Parsed TOML data plus the line of each key path (found on first use: most documents
    load without a problem to report, and the service starts sooner without the scan)."""

    file: Path
    data: dict[str, Any]
    text: str = field(repr=False, compare=False)

    @cached_property
    def lines(self) -> dict[Path_, int]:
        return _KeyLineScanner(self.text).scan()

    def line_of(self, path: Iterable[str | int]) -> int:
        """The line of `path`; else the first line inside it (`[a.b.c]` writes `a.b`); else the
        line of its nearest recorded ancestor (1 if none)."""
        key = tuple(path)
        if key and key not in self.lines:
            inside = [line for found, line in self.lines.items() if found[: len(key)] == key]
            if inside:
                return min(inside)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return 1

    def problem(self, path: Iterable[str | int], reason: str) -> ConfigProblem:
        key = tuple(path)
        return ConfigProblem(self.file, self.line_of(key), dotted(key), reason)


def dotted(path: Iterable[str | int]) -> str:
    """`("regions", "cn", "hours", "mon", 0)` -> `regions.cn.hours.mon[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def load_toml(file: Path) -> TomlDocument:
    """Parse `file`; a syntax error becomes a ConfigError naming its line."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, 1, "", f"cannot read the file: {exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(file, 1, "", "the file is not UTF-8 text")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _line_from_message(str(exc), text)
        raise ConfigError([ConfigProblem(file, line, "", f"TOML syntax: {exc}")]) from exc
    return TomlDocument(file, data, text)


def _line_from_message(message: str, text: str) -> int:
    found = re.search(r"line (\d+)", message)
    if found:
        return int(found.group(1))
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A basic string may hold escaped quotes; a literal string holds no quote at all.
_ONE_LINE_STRING = {'"': re.compile(r'"(?:[^"\\]|\\.)*"'), "'": re.compile(r"'[^']*'")}


class _KeyLineScanner:
    """Records, for valid TOML, the line where each key path begins.

    Only runs after tomllib accepted the text, so it may assume well-formed input.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Path_, int] = {}
        self.table: Path_ = ()
        self.array_tables: dict[Path_, int] = {}

    def scan(self) -> dict[Path_, int]:
        while self._skip_blank():
            if self.text.startswith("[[", self.pos):
                self._array_table_header()
            elif self.text[self.pos] == "[":
                self._table_header()
            else:
                self._key_value(self.table)
        return self.lines

    # -- structure -----------------------------------------------------------------
    def _table_header(self) -> None:
        self.pos += 1
        self.table = self._key()
        self.lines.setdefault(self.table, self.line)
        self._expect("]")

    def _array_table_header(self) -> None:
        self.pos += 2
        base = self._key()
        index = self.array_tables.get(base, -1) + 1
        self.array_tables[base] = index
        self.table = (*base, index)
        self.lines.setdefault(base, self.line)
        self.lines[self.table] = self.line
        self._expect("]]")

    def _key_value(self, table: Path_) -> None:
        path = (*table, *self._key())
        self.lines[path] = self.line
        self._skip_spaces()
        self._expect("=")
        self._skip_spaces()
        self._value(path)

    def _value(self, path: Path_) -> None:
        char = self.text[self.pos]
        if char == "[":
            self._array(path)
        elif char == "{":
            self._inline_table(path)
        elif char in "\"'":
            self._string(decode=False)
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.pos += 1

    def _array(self, path: Path_) -> None:
        self.pos += 1
        index = 0
        while True:
            self._skip_blank(inside_value=True)
            if self.text[self.pos] == "]":
                self.pos += 1
                return
            self.lines[(*path, index)] = self.line
            self._value((*path, index))
            self._skip_blank(inside_value=True)
            if self.text[self.pos] == ",":
                self.pos += 1
            index += 1

    def _inline_table(self, path: Path_) -> None:
        self.pos += 1
        while True:
            self._skip_blank(inside_value=True)
            if self.text[self.pos] == "}":
                self.pos += 1
                return
            self._key_value(path)
            self._skip_blank(inside_value=True)
            if self.text[self.pos] == ",":
                self.pos += 1

    # -- tokens --------------------------------------------------------------------
    def _key(self) -> Path_:
        parts: list[str | int] = []
        while True:
            self._skip_spaces()
            if self.text[self.pos] in "\"'":
                parts.append(self._string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                assert match is not None, f"unexpected key at line {self.line}"
                parts.append(match.group(0))
                self.pos = match.end()
            self._skip_spaces()
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            return tuple(parts)

    def _string(self, decode: bool = True) -> str:
        """Skip a string; decode it only when asked (a quoted key): values need only their
        extent, and decoding each with tomllib made this scan most of loading the prompts."""
        quote = self.text[self.pos]
        triple = quote * 3
        if self.text.startswith(triple, self.pos):
            end = self.text.index(triple, self.pos + 3)
            while self.text.startswith(quote, end + 3):  # quotes just before the closing ones
                end += 1
            raw = self.text[self.pos : end + 3]
            self.pos = end + 3
        else:
            match = _ONE_LINE_STRING[quote].match(self.text, self.pos)
            assert match is not None, f"unterminated string at line {self.line}"
            raw = match.group(0)
            self.pos = match.end()
        self.line += raw.count("\n")
        if not decode:
            return raw
        value = tomllib.loads(f"v = {raw}")["v"]
        assert isinstance(value, str)
        return value

    def _expect(self, token: str) -> None:
        self._skip_spaces()
        assert self.text.startswith(token, self.pos), f"expected {token!r} at line {self.line}"
        self.pos += len(token)

    def _skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def _skip_blank(self, inside_value: bool = False) -> bool:
        """Skip whitespace, newlines and comments; False at the end of the text."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\n":
                self.line += 1
                self.pos += 1
            elif char in " \t\r":
                self.pos += 1
            elif char == "#":
                while self.pos < len(self.text) and self.text[self.pos] != "\n":
                    self.pos += 1
            else:
                return True
        if inside_value:
            raise AssertionError("unterminated value")
        return False
