"""Configuration: settings, regions, hours, prompts, languages, flows: loaded and checked once."""
