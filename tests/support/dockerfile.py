"""infra/Dockerfile read as Docker reads it: instructions, stages, and the final ENV."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from tests.support.processes import INFRA

DOCKERFILE = INFRA / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str
    line: int


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [each for each in self.instructions if each.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                values[name] = value
        return values


def instructions(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments and blank lines dropped."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending, start = "", 0
    return found


def stages(text: str | None = None) -> list[Stage]:
    text = DOCKERFILE.read_text() if text is None else text
    parsed: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            parsed.append(Stage(words[0], name))
        else:
            assert parsed, f"line {instruction.line}: {instruction.keyword} before FROM"
            parsed[-1].instructions.append(instruction)
    return parsed
