"""Configuration: settings, regions, hours, prompts and languages, loaded and checked once."""
