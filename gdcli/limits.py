"""Every bound gdcli enforces, in one place (the README's "Limits" lists them)."""

from __future__ import annotations

# --- expressions and values (parse) ---------------------------------------------------
MAX_LENGTH = 2000  # characters of one expression or value
MAX_NODES = 600  # syntax-tree nodes
MAX_DEPTH = 60  # nesting of the syntax tree
MAX_BITS = 1400  # size of any exact number (numerator or denominator), about 420 digits
MAX_DECIMAL_EXPONENT = 330  # |exponent| of a decimal literal: beyond it a float is 0 or inf
MAX_ENTRIES = 10_000  # entries of one array
MAX_DIMENSIONS = 2  # of an array: vectors and matrices (lists in lists, at most)
MAX_PRODUCT_TERMS = 20_000  # multiplications in one symbolic matrix product
MAX_SYMBOLIC_EXPONENT = 10_000  # |p|, |q| of a constant exponent on an expression of weights
MAX_ARGUMENTS = 32  # arguments of max(...) / min(...)
MAX_NODE_ENTRIES = 10_000_000  # entries of one value of the array engine, per example (80 MB)

# --- time ------------------------------------------------------------------------------
DEFAULT_TIME_LIMIT = 3.0  # CPU seconds of symbolic work per command
MAX_TIME_LIMIT = 1_000_000.0  # the largest GDCLI_TIME_LIMIT (a CPU timer can hold it)
EXACT_SECONDS = 1.0  # CPU seconds for one exact evaluation of a value
SUBSTITUTE_SECONDS = 0.2  # of which putting the exact point in may take this much
LIMIT_SECONDS = 0.5  # CPU seconds for SymPy's one-sided limit of a difference quotient

# --- derivatives and quotients ---------------------------------------------------------
DIGITS = 30  # working precision of exact evaluations
MAXN = 20_000  # bits of precision an evaluation may use to get its DIGITS right
RELIABLE_BITS = 60  # fewer correct bits than this: the value is not known to float precision
MAX_H_VALUES = 400  # rows of a difference-quotient table

# --- descent ---------------------------------------------------------------------------
DIVERGENCE_FACTOR = 1e12  # |loss| > 1e12 * max(1, |loss at the start|) counts as diverged
MAX_UPDATES = 1_000_000_000  # updates of one run (descend, compare, sweep)
MAX_RUNS = 1_000_000  # runs of one sweep (learning rates x starts), and N of a grid A:B:N
MAX_SWEEP_VALUES = 4_000_000  # runs x weight entries of one sweep (its arrays' length)
MAX_TRACE_VALUES = 1_000_000  # numbers compare's trace keeps: runs x (steps + 1) x entries
MAX_SCHEDULE_STEPS = 100_000  # updates of a schedule's preview (every lr is kept)
OSCILLATION_STEPS = 20  # a run oscillates when its update changed sign this many times in a row

# --- output ----------------------------------------------------------------------------
PLOT_POINTS = 4000  # steps kept for the plots of a long run (thinned evenly beyond)
EXACT_ENTRIES = 64  # up to this many entries grad evaluates every partial exactly
CURVE_SAMPLES = 241  # points of a sampled loss curve
PARTIALS_SECONDS = 1.0  # CPU seconds grad may spend writing the partials of small arrays

# --- the cache (an entry past its bound is not read: it is rebuilt) --------------------
MAX_CACHE_ENTRY = 10_000_000  # bytes of one compiled loss
MAX_RESULT_ENTRY = 2_000_000  # bytes of one result of derive, grad, check or slope

# --- backprop --------------------------------------------------------------------------
CHECK_TOLERANCE = 1e-6  # a gradient check passes when every relative difference is below this
CHECK_FLOOR = 1e-4  # relative difference = |a - b| / max(|a|, |b|, CHECK_FLOOR * max(1, |l|))
CHECK_KINK_DISTANCE = 1e-4  # a failed check says why when a kink lies this close to the point
