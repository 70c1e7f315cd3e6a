"""Configuration: settings, regions, hours, prompts, languages and flows, loaded and checked once."""
