"""The `datascan` command's entry point. `datascan --version` is answered before anything
else is imported: argparse and what its formatter loads cost more than Python's own start
(~11 ms against ~15 ms here). Everything else is cli.main."""
from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        from ._version import __version__
        try:
            print(f"datascan {__version__}")     # what cli's parser prints for it
        except OSError:         # as argparse's version action: a closed stdout is not an error
            pass
        return 0
    from .cli import main as run
    return run()
