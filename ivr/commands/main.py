"""The `ivr` command: one module per command group, put together here."""

from __future__ import annotations

import typer

from ivr.commands.agents import agents
from ivr.commands.announce import announce
from ivr.commands.call import call
from ivr.commands.config import check, fallback, graph
from ivr.commands.jobs import dispatch_callbacks, purge
from ivr.commands.reports import calls, report
from ivr.commands.serve import serve
from ivr.commands.users import users

cli = typer.Typer(help="Regional wallet support hotlines over Twilio.", no_args_is_help=True)
cli.command()(serve)
cli.command(name="dispatch")(dispatch_callbacks)
cli.command()(purge)
cli.command()(call)
cli.command()(check)
cli.command()(graph)
cli.command()(fallback)
cli.command()(calls)
cli.command()(report)
cli.add_typer(users, name="users")
cli.add_typer(announce, name="announce")
cli.add_typer(agents, name="agents")


def main() -> None:
    cli(prog_name="ivr")


if __name__ == "__main__":
    main()
