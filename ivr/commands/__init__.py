"""The `ivr` command, one module per command group."""
