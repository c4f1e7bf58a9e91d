"""The `framewatch` subcommands, one module each, listed in bot.cli.COMMANDS.

A module defines `add_to(sub)`, adding its parsers to the subparsers object and setting
`handler=<async def (settings, args) -> int>` on each with `set_defaults`. What they share
(opening the database, failing in one line, count arguments) is in bot.commands.common.
"""
