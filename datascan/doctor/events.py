"""What a training log says, as typed events: the dialects (caffe_glog.py, ...) produce them,
facts.py accumulates them. Every event carries the 1-based line number it came from."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class RunStart:
    """A new run: Caffe printed "Initializing solver from parameters:" (or a second "Solving")."""
    line: int


@dataclass(frozen=True, slots=True)
class ProtoText:
    """A protobuf text block printed after "Initializing solver/net from parameters:"."""
    line: int
    kind: str                  # "solver" | "net"
    text: str
    truncated: bool = False    # longer than the bound kept in memory


@dataclass(frozen=True, slots=True)
class Solving:
    line: int
    name: str


@dataclass(frozen=True, slots=True)
class Loss:
    """The headline `Iteration N ..., loss = X` (a running mean over average_loss iterations)."""
    line: int
    iteration: int
    value: float
    final: bool = False        # the forward-only pass after the last iteration (no outputs follow)


@dataclass(frozen=True, slots=True)
class Output:
    """One `Train/Test net output #k: NAME = V (* W = L loss)` line (not smoothed)."""
    line: int
    phase: str                 # "train" | "test"
    index: int
    name: str
    value: float
    weight: float | None       # None: not a loss (no "(* W = ... loss)")


@dataclass(frozen=True, slots=True)
class LearningRate:
    line: int
    iteration: int
    value: float


@dataclass(frozen=True, slots=True)
class TestStart:
    line: int
    iteration: int


class Debug(NamedTuple):
    """One debug_info number: the mean absolute value (asum/count) of a blob's data or diff.
    ``test`` is True inside a `Testing net` block. The train lines of a display iteration come
    before its Loss line, so their iteration is the next Loss's (facts.py assigns it).
    A NamedTuple, not a dataclass: debug_info logs are mostly these lines (GBs of them)."""
    line: int
    phase: str                 # "forward" | "backward" | "update"
    layer: str
    kind: str                  # "top" | "bottom" | "param" | "input"
    blob: str                  # blob name, or the param's name/index
    field: str                 # "data" | "diff"
    value: float
    test: bool
    key: str = ""              # the line's text between prefix and value: one per blob


class DebugRun(NamedTuple):
    """Many train debug_info lines at once, each finite with 0 < value < 1e3 (what most of a
    debug_info log is): how often each blob (``key``, as Debug.key) was printed. ``expand``
    gives the Debug events of the lines of the given keys, in log order (a blob seen for the
    first time needs its value)."""
    line: int                  # the last of its lines
    counts: dict               # key -> lines
    lines: int                 # all of them
    expand: object             # (set of keys) -> Iterator[Debug]


@dataclass(frozen=True, slots=True)
class ParamNorms:
    """`[Backward] All net params (data, diff): L1 norm = (a, b); L2 norm = (c, d)`."""
    line: int
    l1_data: float
    l1_diff: float
    l2_data: float
    l2_diff: float


@dataclass(frozen=True, slots=True)
class Fatal:
    """An F line (LOG(FATAL), a failed CHECK) or a crash marker of the process
    (`*** SIGSEGV`, `*** Aborted at`, `malloc(): ...`, `Segmentation fault`)."""
    line: int
    message: str
    signal: bool = False       # a signal/abort marker rather than a glog F line


@dataclass(frozen=True, slots=True)
class ErrorLine:
    """An E line worth explaining (not debug_info's norms), e.g. "Could not decode datum"."""
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Checked:
    """datascan's check layer (`doctor --instrument`) found NaN/inf: `datascan check: non-finite
    in layer "L" forward top "B" data at iteration N: fraction F (a nan, b inf of c)`."""
    line: int
    layer: str
    phase: str                 # "forward" (the tops' data) | "backward" (their diff)
    blob: str
    field: str                 # "data" | "diff"
    iteration: int
    fraction: float
    nan: int
    inf: int
    count: int


@dataclass(frozen=True, slots=True)
class Clipping:
    line: int
    norm: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Resumed:
    line: int
    snapshot: str


@dataclass(frozen=True, slots=True)
class Done:
    line: int
    early: bool = False        # "Optimization stopped early."


Event = (RunStart | ProtoText | Solving | Loss | Output | LearningRate | TestStart | Debug
         | DebugRun | ParamNorms | Fatal | ErrorLine | Checked | Clipping | Resumed | Done)
