"""Progress bars (tqdm) on stderr, for `check` and `clean`: shown only on a terminal, since
stdout may carry the report and stderr a pipeline's log."""
from __future__ import annotations

import sys


def shown(enabled: bool) -> bool:
    return enabled and sys.stderr.isatty()


def records_bar(**options):
    """A tqdm bar counting records on stderr; ``options`` go to tqdm (desc, total, leave)."""
    from tqdm import tqdm   # only when a bar is shown: --version and pipelines never load it
    return tqdm(unit=" records", unit_scale=True, file=sys.stderr, dynamic_ncols=True, **options)
