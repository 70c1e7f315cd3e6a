"""The configuration a running service holds: the regions and the prompts, loaded and checked
together once (ConfigError with file, line and reason), and swapped whole on a reload."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ivr.config.prompts import Catalogue, check_prompts, load_prompts
from ivr.config.regions import RegionBook, load_regions
from ivr.config.settings import Settings

log = logging.getLogger("ivr")


@dataclass(frozen=True)
class Config:
    regions: RegionBook
    prompts: Catalogue


def load_config(settings: Settings) -> Config:
    """Prompts and regions, checked together; raises ConfigError with file, line and reason."""
    prompts = load_prompts(settings.prompts)
    regions = load_regions(settings.regions, prompt_languages=prompts.languages)
    for problem in check_prompts(prompts):
        log.warning("prompt fallback in use: %s", problem)
    return Config(regions, prompts)
