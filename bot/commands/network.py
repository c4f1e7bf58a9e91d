"""`framewatch network`: the channels that carried a framing, as a GEXF or GraphML graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.common import with_services
from bot.commands.export import UsageError
from bot.commands.propagation import add_period_arguments, load_period
from bot.outfile import OutputError, atomic_binary_file

if TYPE_CHECKING:
    import networkx as nx

    from bot.config import Settings
    from bot.context import Services


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "network",
        help="the channels that carried a framing, as a graph for Gephi (GEXF or GraphML)",
        description="Nodes are channels (title, username, watchdog, matched posts); an edge "
        "A -> B when B forwarded A's post or posted a near-copy of it after A (weight, first "
        "and last time, one example link).",
    )
    add_period_arguments(parser)
    parser.add_argument("--format", choices=("gexf", "graphml"), required=True)
    parser.add_argument("--output", required=True, help="file to write")
    parser.set_defaults(handler=_network)


def _save(graph: nx.DiGraph, kind: str, path: str) -> None:
    """Only a regular file, which appears once complete (bot.outfile)."""
    from bot.network import write

    with atomic_binary_file(Path(path)) as file:
        write(graph, kind, file)


async def _network(settings: Settings, args: argparse.Namespace) -> int:
    from bot.network import build  # networkx: only for this command
    from storage.propagation import PropagationRepository

    async def work(services: Services) -> int:
        try:
            found = await load_period(services, args)
        except UsageError as exc:
            print(f"framewatch: {exc}", file=sys.stderr)
            return 2
        repo = PropagationRepository(services.db)
        graph = build(found, await repo.channels(), await repo.usernames())
        try:
            _save(graph, args.format, args.output)
        except OutputError as exc:
            print(f"framewatch: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"framewatch: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        print(
            f"Wrote {graph.number_of_nodes()} channels and {graph.number_of_edges()} edges "
            f"to {args.output}.",
            file=sys.stderr,
        )
        return 0

    return await with_services(settings.db_path, work, settings)
