"""Scrapes of GET /metrics, parsed with prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-scrape-token"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
# Monday 2 March 2026, 10:00 in Tokyo: agents are open.
MONDAY_10_TOKYO = "2026-03-02T10:00+09:00"
Labels = tuple[tuple[str, str], ...]
ScrapeFn = Callable[[], "Scrape"]


@dataclass(frozen=True)
class Scrape:
    """One scrape: every sample's value by (sample name, labels)."""

    values: Mapping[tuple[str, Labels], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        values = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return cls(values)

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels; 0 when it was never recorded."""
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def __sub__(self, before: Scrape) -> Scrape:
        keys = set(self.values) | set(before.values)
        return Scrape(
            {key: self.values.get(key, 0.0) - before.values.get(key, 0.0) for key in keys}
        )

    def labels_of(self, prefix: str) -> list[dict[str, str]]:
        """The label sets of every sample whose name starts with `prefix`."""
        return [dict(labels) for name, labels in self.values if name.startswith(prefix)]
