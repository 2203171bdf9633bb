"""The commands: options in, a report built by `gdcli.reports`, written by `Output`.
No maths here. Heavy modules are imported inside the commands that need them, so
`gdcli --help` starts fast. Annotations are read only for the command that runs
(`from __future__ import annotations`: another command's declarations cost nothing)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

from gdcli.cli import env
from gdcli.cli.app import command
from gdcli.cli.declare import Argument, Option
from gdcli.cli.options import (
    DEFAULT_STEPS,
    AtOpt,
    DataOptions,
    DataStepsOpt,
    ExprArg,
    GraphFormat,
    Output,
    Scheme,
    SetOpt,
    ShapeOpt,
    StartOpt,
    StepsOpt,
    TolOpt,
    WrtOpt,
    choice,
    data_options,
    optimizer_options,
    output_options,
    schedule_options,
)
from gdcli.cli.warm import warm

ScheduleSpec = tuple[str, dict[str, Any], float | None] | None


def _schedule_factory(spec: ScheduleSpec, lr: Any) -> Any:
    """A maker of fresh schedules (each run owns its state), checked once now."""
    if spec is None:
        return None
    from gdcli.schedules import make_schedule

    name, options, base = spec
    base_lr = base if base is not None else lr
    make_schedule(name, base_lr, **options)
    return lambda: make_schedule(name, base_lr, **options)


LONG_RUN = 50_000  # steps from which a run on a terminal shows a progress bar


def read_expression(expr: str | None) -> str:
    """The loss's text: the argument, stdin for `-`, else $GDCLI_LOSS or the default."""
    if expr is None:
        from gdcli import DEFAULT_LOSS

        return env.default_loss() or DEFAULT_LOSS
    if expr.strip() == "-":
        from gdcli.errors import BadInput, ParseError

        if sys.stdin is None:
            raise BadInput("stdin is closed: there is no expression to read")
        try:
            text = sys.stdin.read()
            text.encode("utf-8")  # undecodable bytes arrive as surrogates
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise BadInput("stdin is not text (UTF-8)") from None
        except (OSError, ValueError):
            raise BadInput("cannot read the expression from stdin") from None
        if not text.strip():
            raise ParseError("no expression on stdin")
        return text
    return expr


@contextmanager
def data_source(path: str) -> Iterator[Any]:
    """The data to read: an open file (text, universal newlines, a byte-order mark
    dropped), or the text of stdin for `-`; errors name the file."""
    from gdcli.errors import DataError

    if path.strip() == "-":
        if sys.stdin is None:
            raise DataError("-", "cannot be read: stdin is closed")
        try:
            text = sys.stdin.read()
            text.encode("utf-8")  # undecodable bytes arrive as surrogates
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise DataError("-", "is not text (UTF-8)") from None
        except (OSError, ValueError):
            raise DataError("-", "cannot be read") from None
        yield text
        return
    try:
        stream = open(path, encoding="utf-8-sig")  # closed by the with below
    except FileNotFoundError:
        raise DataError(path, "does not exist (no such file)") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, not a CSV file") from None
    except PermissionError:
        raise DataError(path, "cannot be read (permission denied)") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
    with stream:
        if stream.seekable():
            yield stream
            return
        try:  # a pipe (`--data <(...)`, a FIFO) is read once: its text, as stdin's
            text = stream.read()
        except UnicodeDecodeError:
            raise DataError(path, "is not text (UTF-8)") from None
        except OSError as exc:
            raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
        yield text


def _with_data(expr: str | None, spec: DataOptions) -> tuple[str, Any]:
    """The loss's text and the training data (the columns the loss uses)."""
    from gdcli.data import parse_vectors, read_data
    from gdcli.errors import BadInput
    from gdcli.parse.syntax import free_names, normalise

    if spec.path.strip() == "-" and expr is not None and expr.strip() == "-":
        raise BadInput(
            "the expression and --data both read stdin ('-'): give one of them another way"
        )
    vectors = parse_vectors(spec.vectors)
    text = read_expression(expr)
    names = free_names(normalise(text))
    with data_source(spec.path) as source:
        return text, read_data(source, spec.path, names, vectors)


def _data_problem(
    text: str,
    data: Any,
    point: str | None,
    sets: list[str] | None,
    shapes: list[str] | None,
    wrt: str | None = None,
    point_parameter: str = "at",
) -> Any:
    from gdcli.budget import time_limit
    from gdcli.data import problem_on

    with time_limit(env.time_limit()):
        return problem_on(
            data,
            text,
            point,
            sets=sets or (),
            shapes=shapes or (),
            wrt=wrt,
            point_parameter=point_parameter,
        )


def _training(
    data: Any, spec: DataOptions, steps: int | None, schedule: ScheduleSpec
) -> tuple[Any, int, ScheduleSpec]:
    """How a descent feeds the data, its number of steps (from --epochs or --steps),
    and the schedule (onecycle's steps_per_epoch: the batches of an epoch, as torch's
    examples give it)."""
    from gdcli.data import Batches, Training
    from gdcli.errors import Conflict

    if spec.epochs is not None and steps is not None:
        raise Conflict("steps", "epochs", "an epoch is ceil(N / B) steps: give one of them")
    batches = Batches(data.size, spec.batch_size, spec.shuffle, spec.seed)
    total = batches.steps(spec.epochs) if spec.epochs is not None else steps or DEFAULT_STEPS
    if schedule is not None:
        name, options, base = schedule
        if "epochs" in options and "steps_per_epoch" not in options:
            schedule = (name, {**options, "steps_per_epoch": batches.per_epoch}, base)
    return Training(data, batches, spec.epochs, spec.full), total, schedule


def _input_names(sets: Sequence[str] | None) -> list[str]:
    """The names --set fixes, in order (what the notes call inputs)."""
    from gdcli.parse.options import parse_assignments

    return sorted({name for spec in sets or () for name in parse_assignments(spec)})


def _range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    from gdcli.parse.options import parse_range

    return parse_range(text, "range")


def _one_weight(
    expr: str | None,
    at: str | None,
    wrt: str | None,
    sets: list[str] | None,
    shapes: list[str] | None,
    every_name_a_weight: bool = False,
) -> tuple[Any, str]:
    """The problem of a command about one weight, and that weight's name."""
    from gdcli.problem import read_problem

    problem = read_problem(
        read_expression(expr),
        at,
        sets=sets or (),
        shapes=shapes or (),
        wrt=wrt,
        every_name_a_weight=every_name_a_weight,
    )
    return problem, problem.variable(wrt)


@command(
    epilog="Examples:  gdcli derive 'max(0, 3*w+2)' --at=-2/3  |  gdcli derive 'sin(w)' "
    "--scheme central --plot  |  gdcli derive '1 - tanh(w)^2' --latex  |  "
    "gdcli derive '(w*x - y)**2' --set x=2 --set y=1  |  echo 'w**3' | gdcli derive - --quiet"
)
@output_options()
@data_options()
@warm("derive", read_expression)
def derive(
    out: Output,
    data: DataOptions | None,
    expr: ExprArg = None,
    wrt: WrtOpt = None,
    at: AtOpt = None,
    scheme: Annotated[
        Scheme, Option(case_sensitive=False, help="The difference quotient.")
    ] = Scheme.forward,
    h_max: Annotated[float, Option("--h-max", help="Largest h.")] = 1e-1,
    h_min: Annotated[float, Option("--h-min", help="Smallest h.")] = 1e-12,
    latex: Annotated[bool, Option("--latex", help="Also show the derivative in LaTeX.")] = False,
    plot: Annotated[bool, Option("--plot", help="Plot the error against h (log-log).")] = False,
    steps: Annotated[
        bool,
        Option("--steps", help="The derivative rule by rule, as a textbook writes it."),
    ] = False,
    limit: Annotated[
        bool,
        Option("--limit", help="The difference quotient as algebra, and its limit as h -> 0."),
    ] = False,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
) -> None:
    """The derivative dl/dw, symbolic, and difference quotients at shrinking h.

    (l(w+h) - l(w)) / h tends to the derivative as h -> 0: the table shows it,
    with the error of each h, the best h, and where round-off takes over.
    At a kink both one-sided slopes are shown. With --data, the derivative of the
    mean loss over the examples.
    """
    from gdcli.budget import time_limit

    out.plot = out.plot and plot
    if data is not None:
        from gdcli.reports.derive import derive_on_data

        text, table = _with_data(expr, data)
        problem = _data_problem(text, table, at, sets, shapes, wrt)
        name = problem.variable(wrt)
        with time_limit(env.time_limit()):
            report = derive_on_data(problem, table, name, choice(scheme), h_max, h_min, latex)
        out.emit(report)
        return
    from gdcli.reports.derive import derive as build

    seconds = env.time_limit()
    with time_limit(seconds):
        problem, name = _one_weight(expr, at, wrt, sets, shapes)
        report = build(
            problem, name, choice(scheme), h_max, h_min, latex, steps,
            min(2.0, seconds / 2) if limit else None,
        )  # fmt: skip
    out.emit(report)


@command(
    epilog="Examples:  gdcli slope --h 1e-3  |  gdcli slope 'w**3' --at 2 --h 0.5  |  "
    "gdcli slope --h 1,0.1,0.01  |  gdcli slope 'abs(w)' --at 0 --h -0.1 --format json"
)
@output_options()
@data_options()
@warm("slope", read_expression)
def slope(
    out: Output,
    data: DataOptions | None,
    expr: ExprArg = None,
    h: Annotated[
        str,
        Option(
            "--h",
            help="The step between the two points (may be negative, not 0); a list "
            "1,0.1,0.01 draws the secants closing in on the tangent.",
        ),
    ] = "1e-3",
    at: AtOpt = None,
    wrt: WrtOpt = None,
    range_: Annotated[
        str | None, Option("--range", help="x-range of the plot, A:B.", show_default=False)
    ] = None,
    sets: SetOpt = None,
) -> None:
    """The two-point slope (l(w+h) - l(w)) / h beside the derivative at w.

    The secant through (w, l(w)) and (w+h, l(w+h)) becomes the tangent as h -> 0.
    """
    from gdcli.budget import time_limit
    from gdcli.problem import read_value

    hs = [read_value(v) for v in h.split(",")]  # one h, or a list of them
    if data is not None:
        from gdcli.reports.slope import slope_on_data

        text, table = _with_data(expr, data)
        problem = _data_problem(text, table, at, sets, None, wrt)
        name = problem.variable(wrt)
        report = slope_on_data(problem, table, name, hs, _range(range_))
        out.emit(report)
        return
    from gdcli.reports.slope import slope as build

    with time_limit(env.time_limit()):
        problem, name = _one_weight(expr, at, wrt, sets, None)
        report = build(problem, name, hs, _range(range_))
    out.emit(report)


@command(
    name="plot",
    epilog="Examples:  gdcli plot  |  gdcli plot 'max(0, 3*w+2)' --at 0.5 --range -2:2  |  "
    "gdcli plot 'log(w)' --range 0:4 > curve.txt",
)
@output_options(no_plot_help="Print the sampled curve as a table instead.")
@data_options()
def plot_command(
    out: Output,
    data: DataOptions | None,
    expr: ExprArg = None,
    at: AtOpt = None,
    wrt: WrtOpt = None,
    range_: Annotated[
        str | None,
        Option("--range", help="x-range A:B (default: 3 either side).", show_default=False),
    ] = None,
    sets: SetOpt = None,
) -> None:
    """Draw the loss l(w), the current point and its tangent (its slope). For two
    weights (--at x=1,y=-2): the loss's level lines, the point, and -gradient.

    With --data, l(w) is the mean loss over the examples (one weight).
    """
    from gdcli.budget import time_limit

    if data is not None:
        from gdcli.reports.plot import plot_on_data

        text, table = _with_data(expr, data)
        problem = _data_problem(text, table, at, sets, None, wrt)
        report = plot_on_data(problem, table, problem.variable(wrt), _range(range_))
    else:
        from gdcli.problem import read_problem
        from gdcli.reports.plot import plot as build
        from gdcli.reports.plot import plot_2d

        with time_limit(env.time_limit()):
            problem = read_problem(read_expression(expr), at, sets=sets or (), wrt=wrt)
            two = [n for n, shape in problem.weights.items() if not shape]
            if wrt is None and len(problem.weights) == 2 and len(two) == 2:
                report = plot_2d(problem, two, _range(range_))
            else:
                report = build(problem, problem.variable(wrt), _range(range_))
    report.figure_is_data = out.plot
    out.emit(report)


@command(
    epilog="Examples:  gdcli descend --lr 0.1 --steps 50  |  "
    "gdcli descend 'max(0, 3*w+2)' --start 1  |  "
    "gdcli descend '(x-1)**2 + 10*(y+2)**2' --start x=0,y=0 --optimizer adam --lr 0.3  |  "
    "gdcli descend 'sum((W @ x - y)**2)' --set x=[1,2] --set y=[3,4] --start W=0 --shape W=2x2  |  "
    "gdcli descend --lr 1.5 --format csv > run.csv  |  "
    "gdcli descend '(w*x + b - y)**2' --data examples/line.csv --start w=0,b=0 "
    "--batch-size 8 --epochs 10 --full"
)
@output_options()
@optimizer_options
@schedule_options()
@data_options(batches=True, full=True)
def descend(
    out: Output,
    optimizer: tuple[str, dict[str, Any]],
    schedule: ScheduleSpec,
    data: DataOptions | None,
    expr: ExprArg = None,
    start: StartOpt = None,
    lr: Annotated[float, Option("--lr", help="The learning rate.")] = 0.1,
    steps: DataStepsOpt = None,
    tol: TolOpt = 1e-8,
    every: Annotated[int, Option("--every", help="Show every K-th step.")] = 1,
    show_state: Annotated[
        bool, Option("--show-state", help="Show the optimizer's state (buffers, m, v).")
    ] = False,
    logy: Annotated[bool, Option("--logy", help="Log scale for the loss plot.")] = False,
    explain: Annotated[
        bool,
        Option("--explain", help="Write each update out with its numbers, in the rule's formula."),
    ] = False,
    explain_steps: Annotated[
        int | None,
        Option(
            "--explain-steps",
            help="Explain only the first K updates (implies --explain).",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        Option(
            "--no-cache",
            help="Do not read or write the compiled-expression cache (also GDCLI_NO_CACHE=1).",
        ),
    ] = False,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
) -> None:
    """Run the update rule w = w - lr * dl/dw and show every step.

    The slope's sign decides the direction: slope > 0, so w decreases; slope < 0,
    so w increases. Other update rules (momentum, Adam, RMSprop, Adagrad) follow
    torch.optim, with torch's option names and defaults (except --lr, 0.1).

    With --data the loss is written per example and its mean over the examples is
    minimised; --batch-size makes it stochastic mini-batch descent (shuffled each
    epoch, --seed), --epochs counts passes over the data.
    """
    from gdcli.errors import BadValue
    from gdcli.optimizers import optimizer_factory
    from gdcli.reports.descend import descend as build
    from gdcli.stopping import StopRule

    if every < 1:
        raise BadValue("every", f"must be at least 1 (got {every})")
    if explain_steps is not None and explain_steps < 1:
        raise BadValue("explain_steps", f"must be at least 1 (got {explain_steps})")
    training = None
    if data is None:
        from gdcli.compile.cache import Cache
        from gdcli.compile.load import load_or_build

        steps = DEFAULT_STEPS if steps is None else steps
        rule = StopRule(steps, tol)
        name, hyper = optimizer
        make = optimizer_factory(name, lr, **hyper)
        schedules = _schedule_factory(schedule, lr)
        cache = Cache(env.cache_dir(no_cache))
        compiled, start_values = load_or_build(
            read_expression(expr), start, sets or (), shapes or (), cache, env.time_limit()
        )
        inputs = _input_names(sets)
    else:
        from gdcli.compile.load import build_on_data

        text, table = _with_data(expr, data)
        training, steps, schedule = _training(table, data, steps, schedule)
        rule = StopRule(steps, tol)
        name, hyper = optimizer
        make = optimizer_factory(name, lr, **hyper)
        schedules = _schedule_factory(schedule, lr)
        problem = _data_problem(text, table, start, sets, shapes, point_parameter="start")
        compiled, start_values = build_on_data(problem, table), problem.start()
        inputs = [*problem.inputs, *problem.columns]
    explained = explain_steps or (steps if explain else 0)
    wide = out.wide
    report = build(
        compiled,
        start_values,
        make,
        rule,
        every,
        show_state,
        logy,
        wide,
        progress=_progress_bar(steps) if wide else None,
        schedule=schedules,
        explain_steps=explained,
        training=training,
        inputs=inputs,
    )
    out.emit(report)


@command(
    epilog="Examples:  gdcli grad '(x-1)**2 + 10*(y+2)**2' --at x=0,y=0  |  "
    "gdcli grad 'sum((W @ x - y)**2)' --set x=[1,2] --set y=[3,4] --at W=0 --shape W=2x2  |  "
    "gdcli grad 'mean((tanh(W @ x) - y)**2)' --set x=[1,-1,2] --set y=[0,1] "
    "--at W=[[0.1,0.2,0.3],[0,0,0.5]] --format json  |  "
    "gdcli grad '(w*x + b - y)**2' --data examples/line.csv --at w=0,b=0 --per-example"
)
@output_options()
@data_options()
@warm("grad", read_expression)
def grad(
    out: Output,
    data: DataOptions | None,
    expr: ExprArg = None,
    at: AtOpt = None,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    per_example: Annotated[
        bool,
        Option(
            "--per-example",
            help="With --data: every example's loss and gradient, then their mean (the gradient).",
        ),
    ] = False,
    latex: Annotated[
        bool, Option("--latex", help="Also the gradient in LaTeX (a bmatrix).")
    ] = False,
) -> None:
    """Partial derivatives and the gradient of many weights, matrices included.

    For a matrix W, each partial dl/dW[i,j] treats every other entry as a constant;
    together they form the gradient, a matrix of the same shape as W (entries are
    numbered from 1). With --data, the gradient of the mean loss over the examples.
    """
    from gdcli.budget import time_limit
    from gdcli.errors import BadValue
    from gdcli.problem import read_problem

    if data is None:
        from gdcli.reports.grad import grad as build

        if per_example:
            raise BadValue("per_example", "needs training data: give --data FILE.csv too")
        text = read_expression(expr)
        with time_limit(env.time_limit()):
            report = build(read_problem(text, at, sets=sets or (), shapes=shapes or ()), latex)
    else:
        from gdcli.reports.grad import grad_on_data

        if latex:
            raise BadValue("latex", "is not available with --data (the gradient is a mean)")
        text, table = _with_data(expr, data)
        problem = _data_problem(text, table, at, sets, shapes)
        report = grad_on_data(problem, table, per_example)
    out.emit(report)


@command(
    epilog="Examples:  gdcli check 'w**2' '2*w'  |  gdcli check 'max(0, 3*w+2)' "
    "'(3*w+2 > 0)*3'  |  gdcli check 'sin(w)**2' '2*sin(w)' --quiet || echo try again  |  "
    "gdcli check 'sum((W @ x - y)**2)' '2*outer(W @ x - y, x)' --wrt W --shape W=2x3 "
    "--set x=[1,2,3] --set y=[0,1]  |  gdcli check --batch answers.csv --format csv"
)
@output_options()
@warm("check", read_expression)
def check(
    out: Output,
    expr: Annotated[
        str | None,
        Argument(metavar="[EXPR]", help="The loss ('-' reads it from stdin).", show_default=False),
    ] = None,
    answer: Annotated[
        str | None,
        Argument(metavar="[ANSWER]", help="Your derivative, e.g. '2*(w - 3)'.", show_default=False),
    ] = None,
    wrt: WrtOpt = None,
    at: Annotated[
        str | None,
        Option(
            "--at",
            "--start",
            help="Check the derivative's value at this point only (ANSWER a number).",
            show_default=False,
        ),
    ] = None,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    rtol: Annotated[float, Option("--rtol", help="Relative tolerance (0: exact).")] = 0.0,
    atol: Annotated[float, Option("--atol", help="Absolute tolerance (0: exact).")] = 0.0,
    batch: Annotated[
        str | None,
        Option(
            "--batch",
            metavar="FILE",
            help="Grade a CSV of answers (columns loss, answer; '-' is stdin): one record per row.",
            show_default=False,
        ),
    ] = None,
    latex: Annotated[
        bool, Option("--latex", help="Also give the LaTeX (a column with --batch).")
    ] = False,
) -> int:
    """Is ANSWER the derivative of EXPR? Exit 0 if right, 1 if wrong (with a
    counterexample: a point, the expected value and yours), 2 if either does not parse.

    Right means equal wherever both are defined (except at kinks): decided by SymPy
    where it can show the difference is 0, otherwise at many points, every verdict
    confirmed in exact arithmetic. ANSWER may use Heaviside, sign and comparisons as
    indicators: (3*w + 2 > 0)*3. For a matrix weight ANSWER is an array expression
    (--shape, --set). With --batch, a whole class in one process.
    """
    from gdcli.answers import tolerance
    from gdcli.budget import time_limit

    tol = tolerance(rtol, atol)
    out.plot = False
    if batch is not None:
        return _check_batch(out, batch, expr, answer, wrt, at, sets, shapes, tol, latex)
    if expr is None or answer is None:
        from gdcli.errors import BadInput

        raise BadInput(
            "check needs EXPR and ANSWER (or --batch FILE)", hint="e.g. gdcli check 'w**2' '2*w'"
        )
    from gdcli.reports.check import check as build
    from gdcli.reports.check import judge

    with time_limit(env.time_limit()):
        judged = judge(
            read_expression(expr),
            answer,
            wrt=wrt,
            at=at,
            sets=sets or (),
            shapes=shapes or (),
            tol=tol,
        )
        report, code = build(judged, latex)
    out.emit(report)
    return code


def _check_batch(
    out: Output,
    source: str,
    expr: str | None,
    answer: str | None,
    wrt: str | None,
    at: str | None,
    sets: list[str] | None,
    shapes: list[str] | None,
    tol: Any,
    latex: bool,
) -> int:
    """check --batch FILE: every row judged in this one process."""
    from gdcli.cli.words import words
    from gdcli.errors import BadInput, GdcliError
    from gdcli.reports.batch import Defaults, batch

    def said(exc: GdcliError) -> str:
        message, hint = words(exc)
        return message + (f" ({hint})" if hint else "")

    if expr is not None or answer is not None:
        raise BadInput(
            "--batch takes every loss and answer from the file: give no EXPR or ANSWER",
            hint="gdcli check --batch answers.csv",
        )
    defaults = Defaults(wrt, at, tuple(sets or ()), tuple(shapes or ()), tol)
    stream = _open_batch(source)
    try:
        report = batch(source, stream, defaults, env.time_limit(), latex, said)
        out.emit(report)
    finally:
        if stream is not sys.stdin and source.strip() != "-":
            stream.close()
    return 0


def _open_batch(source: str) -> Any:
    """The batch file as text (stdin for `-`)."""
    from gdcli.errors import BadInput

    if source.strip() == "-":
        if sys.stdin is None:
            raise BadInput("stdin is closed: there is no batch to read")
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:
            return sys.stdin
        # bytes that are not UTF-8 are that row's problem, not the end of the run
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        return open(  # noqa: SIM115  (closed by the caller)
            source, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
    except FileNotFoundError:
        raise BadInput(f"--batch {source}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"--batch {source}: is a directory, not a file") from None
    except OSError as exc:
        raise BadInput(f"--batch {source}: cannot be read ({exc.strerror or exc})") from None


# gdcli.exercises.KINDS, written out: importing that module costs every call start-up time
# (a test keeps the two equal)
EXERCISE_KINDS = ("derivative", "partial", "matrix", "step", "diverge")
ExerciseKind = Enum(  # type: ignore[misc]
    "ExerciseKind", {kind: kind for kind in EXERCISE_KINDS}, type=str
)


@command(
    epilog="Examples:  gdcli exercise derivative --seed 7 --level 2  |  "
    "gdcli exercise matrix --seed 3 --key --format json  |  "
    "for s in 1 2 3; do gdcli exercise step --seed $s --key -f csv; done"
)
@output_options()
def exercise(
    out: Output,
    kind: Annotated[
        ExerciseKind,
        Argument(
            metavar="KIND",
            case_sensitive=False,
            help="derivative (--level 1-3), partial, matrix, step or diverge.",
            show_default=False,
        ),
    ],
    seed: Annotated[int, Option("--seed", help="Which problem: each student their own seed.")],
    level: Annotated[
        int | None,
        Option(
            "--level",
            help="derivative: 1 powers and sums, 2 product, quotient and chain rule, "
            "3 sigmoid, tanh, relu and cross-entropy (default 1).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[bool, Option("--key", help="Include the answer (the key).")] = False,
    latex: Annotated[bool, Option("--latex", help="Also the question (and key) in LaTeX.")] = False,
) -> None:
    """A seeded exercise and, with --key, its answer: each student gets their own.

    The same seed gives the same problem on every machine. The key's answer is
    accepted by gdcli check (JSON `check` holds the columns that grade it).
    """
    from gdcli.exercises import make
    from gdcli.reports.exercise import exercise as build

    out.plot = False
    out.emit(build(make(choice(kind), seed, level), key, latex))


@command(
    epilog="Examples:  gdcli sweep --lr 0.05:1.95:39 --start 0 --steps 3000  |  "
    "gdcli sweep 'w**4 - 3*w**2 + w' --lr 1e-3:1:50 --log --start -2:2:5  |  "
    "gdcli sweep --lr 0.01,0.1,1 --optimizer adam --format json  |  "
    "gdcli sweep --lr 0.1:3:30 --quiet   # the best lr"
)
@output_options()
@optimizer_options
@schedule_options()
@data_options(batches=True)
def sweep(
    out: Output,
    optimizer: tuple[str, dict[str, Any]],
    schedule: ScheduleSpec,
    data: DataOptions | None,
    expr: ExprArg = None,
    lr: Annotated[
        str,
        Option(
            "--lr", help="Learning rates: A:B:N (N values, A and B included) or a list 0.01,0.1,1."
        ),
    ] = "0.01:1:10",
    log: Annotated[bool, Option("--log", help="Space A:B:N logarithmically.")] = False,
    start: Annotated[
        str | None,
        Option(
            "--start",
            "--at",
            help="Where every run starts (as for descend); for one weight also a list "
            "of starts: -2,0,2 or A:B:N.",
            show_default=False,
        ),
    ] = None,
    steps: DataStepsOpt = None,
    tol: TolOpt = 1e-8,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
) -> None:
    """Many learning rates (and starts) at once: the outcome of each run.

    Every run follows the rules of descend (converged, max_steps, diverged), so a
    run equals `gdcli descend` with the same settings. Find where training stays
    stable: for l = (w - 3)**2 plain gradient descent diverges above lr = 2 / l'' = 1.
    """
    from gdcli.budget import time_limit
    from gdcli.parse.options import is_grid, parse_grid
    from gdcli.problem import read_problem
    from gdcli.reports.sweep import sweep as build
    from gdcli.stopping import StopRule

    name, hyper = optimizer
    if data is not None:
        from gdcli.reports.sweep import sweep_on_data

        text, table = _with_data(expr, data)
        training, steps, schedule = _training(table, data, steps, schedule)
        rule = StopRule(steps, tol)
        lrs = parse_grid(lr, "lr", log)
        starts = None
        point = start
        if start is not None and is_grid(start):
            starts, point = parse_grid(start, "start"), None
        problem = _data_problem(text, table, point, sets, shapes, point_parameter="start")
        out.emit(sweep_on_data(problem, training, lrs, starts, name, hyper, rule, schedule))
        return
    rule = StopRule(DEFAULT_STEPS if steps is None else steps, tol)
    lrs = parse_grid(lr, "lr", log)
    starts = None
    point = start
    if start is not None and is_grid(start):
        starts, point = parse_grid(start, "start"), None
    seconds = env.time_limit()
    with time_limit(seconds):
        problem = read_problem(
            read_expression(expr),
            point,
            sets=sets or (),
            shapes=shapes or (),
            point_parameter="start",
        )
    out.emit(build(problem, lrs, starts, name, hyper, rule, seconds, schedule))


@command(
    epilog="Examples:  gdcli compare '(x-1)**2 + 10*(y+2)**2' --start x=0,y=0 "
    "--run 'sgd lr=0.04' --run 'sgd lr=0.04 momentum=0.9' --run 'adam lr=0.3'  |  "
    "gdcli compare --run 'sgd lr=0.1' --run 'sgd lr=0.1 scheduler=cosine t_max=50' "
    "--target-loss 1e-6 --format json"
)
@output_options()
@data_options(batches=True)
def compare(
    out: Output,
    data: DataOptions | None,
    expr: ExprArg = None,
    runs: Annotated[
        list[str] | None,
        Option(
            "--run",
            help="One run: 'OPTIMIZER key=value ...' with descend's option names "
            "('sgd lr=0.01 momentum=0.9', 'adam lr=0.1', 'sgd lr=0.1 scheduler=cosine "
            "t_max=100'); repeat it for each run.",
            show_default=False,
        ),
    ] = None,
    start: StartOpt = None,
    steps: DataStepsOpt = None,
    tol: TolOpt = 1e-8,
    target_loss: Annotated[
        float | None,
        Option(
            "--target-loss",
            help="Count the steps each run needs to reach it.",
            show_default=False,
        ),
    ] = None,
    trace: Annotated[bool, Option("--trace", help="JSON: every step of every run.")] = False,
    no_cache: Annotated[
        bool, Option("--no-cache", help="Do not read or write the compiled cache.")
    ] = False,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
) -> None:
    """Several update rules on one loss, side by side: one table, the loss curves
    overlaid, and for two weights the paths on the loss's level lines.

    Each run is exactly what descend gives with the same settings.
    """
    from gdcli.compile.cache import Cache
    from gdcli.compile.load import load_or_build
    from gdcli.errors import BadValue
    from gdcli.reports.compare import compare as build
    from gdcli.runs import parse_run
    from gdcli.stopping import StopRule

    if not runs:
        raise BadValue("run", "is needed at least once: 'OPTIMIZER key=value ...'")
    if data is not None:
        from gdcli.compile.load import build_on_data

        text, table = _with_data(expr, data)
        training, steps, _ = _training(table, data, steps, None)
        rule = StopRule(steps, tol)
        specs = [parse_run(given, k) for k, given in enumerate(runs, start=1)]
        problem = _data_problem(text, table, start, sets, shapes, point_parameter="start")
        on_data = build_on_data(problem, table)
        inputs = [*problem.inputs, *problem.columns]
        out.emit(build(on_data, problem.start(), specs, rule, target_loss, trace, training, inputs))
        return
    rule = StopRule(DEFAULT_STEPS if steps is None else steps, tol)
    specs = [parse_run(text, k) for k, text in enumerate(runs, start=1)]
    cache = Cache(env.cache_dir(no_cache))
    compiled, start_values = load_or_build(
        read_expression(expr), start, sets or (), shapes or (), cache, env.time_limit()
    )
    inputs = _input_names(sets)
    out.emit(build(compiled, start_values, specs, rule, target_loss, trace, inputs=inputs))


@command(
    name="schedule",
    epilog="Examples:  gdcli schedule cosine --t-max 100 --steps 200  |  "
    "gdcli schedule onecycle --max-lr 0.1 --total-steps 1000 --steps 1000 --format csv  |  "
    "gdcli schedule plateau --patience 2 --metrics 1,0.9,0.9,0.9,0.9,0.8 --steps 7",
)
@output_options()
@schedule_options(positional=True)
def schedule_command(
    out: Output,
    schedule: ScheduleSpec,
    lr: Annotated[float, Option("--lr", help="The lr the schedule starts from.")] = 0.1,
    steps: StepsOpt = 50,
    metrics: Annotated[
        str | None,
        Option(
            "--metrics",
            help="plateau: the loss after each update (a comma list), which it watches.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Preview a learning-rate schedule: the lr of every update, before training.

    The schedules and their options are torch.optim.lr_scheduler's (torch's names and
    defaults); descend and sweep take the same --scheduler options.
    """
    from gdcli.errors import BadValue
    from gdcli.parse.options import parse_grid
    from gdcli.reports.schedule import schedule as build
    from gdcli.stopping import StopRule

    if schedule is None:
        raise BadValue("scheduler", "is needed: which schedule to preview")
    name, options, base = schedule
    values = parse_grid(metrics, "metrics") if metrics is not None else None
    out.emit(build(name, options, base if base is not None else lr, StopRule(steps), values))


@command(
    epilog="Examples:  gdcli backprop 'sum((W @ x - y)**2)' --set x=[1,2] --set y=[3,4] "
    "--at W=0.5 --shape W=2x2  |  gdcli backprop 'mean((yhat - y)**2)' --let z=W1@x+b1 "
    "--let 'h=tanh(z)' --let 'yhat=sigmoid(W2@h+b2)' --set x=[1,2] --set y=[1] "
    "--at W1=0.1,b1=0,W2=0.2,b2=0 --shape W1=3x2 --shape b1=3 --shape W2=1x3 --shape b2=1  |  "
    "gdcli backprop ... --format dot | dot -Tsvg > graph.svg  |  gdcli backprop ... --check"
)
@output_options(
    no_plot_help="Leave out the tree of the graph.",
    formats=GraphFormat,
    format_help="auto: the tables and a tree of the graph on a terminal, plain text in a "
    "pipe; dot: the graph as Graphviz DOT text.",
)
def backprop(
    out: Output,
    expr: ExprArg = None,
    lets: Annotated[
        list[str] | None,
        Option(
            "--let",
            help="Name a layer: NAME=EXPR (repeatable, in order; EXPR may use the layers "
            "before it), e.g. --let z=W1@x+b1 --let 'h=tanh(z)'.",
            show_default=False,
        ),
    ] = None,
    at: AtOpt = None,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    check: Annotated[
        bool,
        Option(
            "--check",
            help="Also compare every weight's gradient with central differences (a gradient "
            "check); exit 3 when they differ by more than the tolerance.",
        ),
    ] = False,
) -> None:
    """The forward and the backward pass through the loss's graph: the chain rule.

    Forward: every node is one operation on the nodes before it. Backward, from the
    loss down: dl/dnode is the sum, over the nodes it feeds, of upstream x local
    derivative. For a layer W @ x the weight's gradient is outer(delta, x): delta x^T.
    --quiet prints the gradient's entries (as grad does); with --check, the largest
    relative difference.
    """
    from gdcli.budget import time_limit
    from gdcli.parse.syntax import normalise
    from gdcli.reports.backprop import backprop as build
    from gdcli.reports.backprop import layered_problem

    text = read_expression(expr)
    with time_limit(env.time_limit()):
        problem, layers = layered_problem(text, at, sets or (), shapes or (), lets or ())
        report = build(problem, layers, normalise(text), check)
    out.emit(report)


def _progress_bar(steps: int) -> Callable[[int], None] | None:
    """A progress bar on stderr for a long run on a terminal (None otherwise)."""
    if steps < LONG_RUN or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("descending", total=steps)
    bar.start()

    def update(step: int) -> None:
        bar.update(task, completed=step)
        if step >= steps:
            bar.stop()

    import atexit

    atexit.register(bar.stop)
    return update
