"""The `ivr` command: one module per command group, put together here.

A run imports only the module of the command it runs: `ivr serve` must not wait for the
emulator, the agent tools or the reports to load before it answers its first call. `--help`
and the tests' `cli` build the whole command.
"""

from __future__ import annotations

import gc
import sys
from importlib import import_module
from typing import Any

import typer

HELP = "Regional wallet support hotlines over Twilio."
# name: (module, the function or Typer there), in the order `ivr --help` lists them.
COMMANDS = {
    "serve": ("ivr.commands.serve", "serve"),
    "dispatch": ("ivr.commands.jobs", "dispatch_callbacks"),
    "purge": ("ivr.commands.jobs", "purge"),
    "call": ("ivr.commands.call", "call"),
    "check": ("ivr.commands.config", "check"),
    "graph": ("ivr.commands.config", "graph"),
    "fallback": ("ivr.commands.config", "fallback"),
    "calls": ("ivr.commands.reports", "calls"),
    "report": ("ivr.commands.reports", "report"),
}
GROUPS = {
    "users": ("ivr.commands.users", "users"),
    "announce": ("ivr.commands.announce", "announce"),
    "agents": ("ivr.commands.agents", "agents"),
}


def build(only: str | None = None) -> typer.Typer:
    """The `ivr` command with every subcommand, or with `only` that one."""
    cli = typer.Typer(help=HELP, no_args_is_help=True)

    @cli.callback()
    def ivr() -> None:
        """Regional wallet support hotlines over Twilio."""  # a group even with one command

    for name, (module, attribute) in COMMANDS.items():
        if only in (None, name):
            cli.command(name=name)(getattr(import_module(module), attribute))
    for name, (module, attribute) in GROUPS.items():
        if only in (None, name):
            cli.add_typer(getattr(import_module(module), attribute), name=name)
    return cli


def main() -> None:
    first = sys.argv[1] if len(sys.argv) > 1 else None
    if first == "serve":
        # No collections while the service starts: it freezes what start-up made and turns
        # the collector on once the app is built (ivr.web.app.freeze_what_start_up_made).
        gc.disable()
    build(first if first in COMMANDS or first in GROUPS else None)(prog_name="ivr")


def __getattr__(name: str) -> Any:
    if name == "cli":  # the whole command, built on first use
        cli = build()
        globals()["cli"] = cli
        return cli
    raise AttributeError(name)


if __name__ == "__main__":
    main()
