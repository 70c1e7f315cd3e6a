"""The configuration a running service holds: the regions, the prompts and the flows, loaded
and checked together once (ConfigError with file, line and reason), and swapped whole on a
reload."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ivr.config.flow_file import load_flows
from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue, check_prompts, load_prompts
from ivr.config.regions import RegionBook, load_regions
from ivr.config.settings import Settings

log = logging.getLogger("ivr")


@dataclass(frozen=True)
class Config:
    regions: RegionBook
    prompts: Catalogue
    flows: FlowBook


def load_config(settings: Settings) -> Config:
    """Prompts, regions and flows, checked together; raises ConfigError with file, line and
    reason."""
    prompts = load_prompts(settings.prompts)
    regions = load_regions(
        settings.regions,
        prompt_languages=prompts.languages,
        disposition_codes=prompts.names_under("agent_line.dispositions"),
    )
    flows = load_flows(settings.flows, regions, prompts)
    for problem in check_prompts(prompts):
        log.warning("prompt fallback in use: %s", problem)
    return Config(regions, prompts, flows)
