"""Checks of a configuration before it goes live: warnings, the menu walk, the graph."""
