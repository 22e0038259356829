"""Fail when a function in the package, the jobs or the service runs past the line limit.

Counts the lines from ``def`` to the end of the body (docstring included). Run:
``python tools/function_lengths.py [--limit 80] [paths...]``; ``make check`` runs it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

DEFAULT_PATHS = ("src", "pipelines", "serving")


def long_functions(paths: list[Path], limit: int) -> list[tuple[str, int]]:
    """``(file:function, lines)`` of every function longer than ``limit`` lines, longest first."""
    found = []
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    name = f"{file.as_posix()}:{node.name}"
                    if length > limit:
                        found.append((name, length))
    return sorted(found, key=lambda item: -item[1])


def main() -> int:
    """Print the long functions; exit 1 when there is any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("paths", nargs="*", type=Path, default=[Path(p) for p in DEFAULT_PATHS])
    args = parser.parse_args()
    found = long_functions(args.paths, args.limit)
    for name, length in found:
        print(f"{name}: {length} lines (limit {args.limit})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
