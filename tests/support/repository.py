"""Where the repository is: the sample regions.toml, prompts/ and infra/ live under ROOT."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
