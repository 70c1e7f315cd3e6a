"""Checks of a configuration before it goes live: caller-time budgets, warnings, the graph."""
