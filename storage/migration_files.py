"""The numbered .sql files of a migrations folder of this package, in order (both backends)."""

from __future__ import annotations

from importlib import resources


def sql_files(*folder: str) -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of each NNNN_*.sql file in storage/<folder...>, by number."""
    found = []
    for entry in resources.files("storage").joinpath(*folder).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)
