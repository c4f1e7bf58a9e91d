"""The `framewatch` subcommands, one module each, listed in bot.cli.COMMANDS.

A module defines `add_to(sub)`, adding its parsers to the subparsers object and setting
`handler=<async def (settings, args) -> int>` on each with `set_defaults`. What they share
(opening the database, failing in one line, count arguments) is in bot.commands.common.

bot.cli imports every module to build its parser, and a scan's spawned workers import
bot.cli again: a module's top-level imports stay light (the standard library, small
helpers, names for type hints under TYPE_CHECKING), and a handler imports what it runs
(PTB, Datasette, numpy, the storage repositories) when it runs. tests/test_cli_imports.py
checks it.
"""
