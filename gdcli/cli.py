"""The gdcli command line: options in, a core call, a report out. No maths here.

Heavy modules (SymPy, NumPy, plotext, Rich) are imported inside the commands
that need them, so `gdcli --help` starts fast.
"""

import os
import re
import sys
from typing import Annotated, Any

import typer

from gdcli.errors import ExitCode, GdcliError

PROG = "gdcli"

COMMANDS: dict[str, tuple[Any, dict[str, Any]]] = {}  # name -> (function, Typer settings)


def command(**settings: Any) -> Any:
    """Register a command; the Typer app is built per call with only the command
    that runs (building every command's options costs start-up time)."""

    def register(function: Any) -> Any:
        name = settings.get("name") or function.__name__.replace("_", "-")
        COMMANDS[name] = (function, settings)
        return function

    return register


APP_SETTINGS: dict[str, Any] = {
    "name": PROG,
    "help": (
        "gdcli: a gradient descent explorer. A loss l(w), its slope, the derivative as the "
        "limit of a difference quotient, and the update rule w = w - lr * dl/dw, step by step."
    ),
    "add_completion": True,
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command, or with just `only`."""
    app = typer.Typer(**APP_SETTINGS)
    app.callback()(_root)
    for name, (function, settings) in COMMANDS.items():
        if only is None or name == only:
            app.command(**settings)(function)
    return app


# ---------------------------------------------------------------------------
# shared options: one definition, reused by every command

ExprArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[EXPR]",
        help="The loss, e.g. '(w - 3)**2' ('^' is power too); '-' reads it from stdin. "
        "Default: $GDCLI_LOSS or (w - 3)**2.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="auto | table | plain | csv | json. auto: a table and a plot on a terminal, "
        "plain text in a pipe.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print one line of bare values (for scripts).")
]
NoPlotOpt = Annotated[bool, typer.Option("--no-plot", help="Leave out the plot.")]
ColorOpt = Annotated[
    bool, typer.Option("--color", help="Colour even when stdout is not a terminal.")
]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="The point: 1.5, -2/3, pi/4; x=1,y=-2 for several weights; "
        "W=[[1,2],[3,4]] for a matrix. Default 1.",
        show_default=False,
    ),
]
WrtOpt = Annotated[
    str | None,
    typer.Option("--wrt", help="The variable (default: w, or the only one).", show_default=False),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="A constant: NAME=VALUE (number, [vector], [[matrix]])."),
]
ShapeOpt = Annotated[
    list[str] | None,
    typer.Option("--shape", help="A weight's shape: NAME=RxC (W=2x3) or NAME=N (v=3)."),
]


# the update rules' options, torch's names; None means torch's default for that rule
OptimizerOpt = Annotated[
    str, typer.Option("--optimizer", "-o", help="sgd | adam | adamw | rmsprop | adagrad.")
]
MomentumOpt = Annotated[float | None, typer.Option(help="sgd, rmsprop (default 0).")]
DampeningOpt = Annotated[float | None, typer.Option(help="sgd (default 0).")]
NesterovOpt = Annotated[bool | None, typer.Option("--nesterov", help="sgd.")]
WeightDecayOpt = Annotated[float | None, typer.Option(help="all (default 0; adamw 0.01).")]
Beta1Opt = Annotated[float | None, typer.Option(help="adam, adamw (default 0.9).")]
Beta2Opt = Annotated[float | None, typer.Option(help="adam, adamw (default 0.999).")]
EpsOpt = Annotated[float | None, typer.Option(help="default 1e-8; adagrad 1e-10.")]
AmsgradOpt = Annotated[bool | None, typer.Option("--amsgrad", help="adam, adamw.")]
AlphaOpt = Annotated[float | None, typer.Option(help="rmsprop (default 0.99).")]
CenteredOpt = Annotated[bool | None, typer.Option("--centered", help="rmsprop.")]
LrDecayOpt = Annotated[float | None, typer.Option(help="adagrad (default 0).")]
InitialAccumulatorOpt = Annotated[float | None, typer.Option(help="adagrad (default 0).")]


class Output:
    """The output options every command shares."""

    def __init__(self, fmt: str, quiet: bool, no_plot: bool, color: bool) -> None:
        from gdcli.render.output import FORMATS
        from gdcli.render.terminal import Terminal

        fmt = fmt.lower()
        if fmt not in FORMATS:
            from gdcli.errors import BadInput

            raise BadInput(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        # --color asks for what a terminal gets: the coloured table (plain stays data)
        self.fmt = "table" if color and fmt == "auto" else fmt
        self.quiet = quiet
        self.plot = not no_plot
        self.term = Terminal.detect(sys.stdout, force_color=color)

    def emit(self, report: Any) -> None:
        from gdcli.render.output import emit

        emit(report, self.fmt, self.term, quiet=self.quiet, plot=self.plot)


def read_problem(text: str, at: str | None, **kwargs: Any) -> Any:
    from gdcli.points import read_problem as read

    return read(text, at, **kwargs)


def read_expression(expr: str | None) -> str:
    if expr is None:
        from gdcli.points import DEFAULT_LOSS

        return os.environ.get("GDCLI_LOSS") or DEFAULT_LOSS
    if expr.strip() == "-":
        text = sys.stdin.read()
        if not text.strip():
            from gdcli.errors import ParseError

            raise ParseError("no expression on stdin")
        return text
    return expr


# ---------------------------------------------------------------------------
# commands


@command(
    epilog="Examples:  gdcli derive 'max(0, 3*w+2)' --at=-2/3  |  gdcli derive 'sin(w)' "
    "--scheme central --plot  |  gdcli derive '1 - tanh(w)^2' --latex  |  "
    "echo 'w**3' | gdcli derive - --quiet"
)
def derive(
    expr: ExprArg = None,
    wrt: WrtOpt = None,
    at: AtOpt = None,
    scheme: Annotated[
        str, typer.Option(help="Difference quotient: forward | backward | central.")
    ] = "forward",
    h_max: Annotated[float, typer.Option("--h-max", help="Largest h.")] = 1e-1,
    h_min: Annotated[float, typer.Option("--h-min", help="Smallest h.")] = 1e-12,
    latex: Annotated[
        bool, typer.Option("--latex", help="Also show the derivative in LaTeX.")
    ] = False,
    plot: Annotated[
        bool, typer.Option("--plot", help="Plot the error against h (log-log).")
    ] = False,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> None:
    """The derivative dl/dw, symbolic, and difference quotients at shrinking h.

    (l(w+h) - l(w)) / h tends to the derivative as h -> 0: the table shows it,
    with the error of each h, the best h, and where round-off takes over.
    At a kink both one-sided slopes are shown.
    """
    from gdcli import calculus
    from gdcli.commands import single as commands

    out = Output(fmt, quiet, no_plot or not plot, color)
    text = read_expression(expr)
    with calculus.symbolic_budget():
        problem = read_problem(
            text, at, sets=sets or (), shapes=shapes or (), single=wrt or _guess(text)
        )
        name = calculus.pick_variable(problem.loss, wrt)
        report = commands.derive(problem, name, scheme.lower(), h_max, h_min, latex)
    out.emit(report)


def _guess(text: str) -> str | None:
    """The variable a bare --at belongs to, before the loss is parsed: w, or the only name."""
    from gdcli.expression import free_names

    names = free_names(text)
    if "w" in names:
        return "w"
    return next(iter(names)) if len(names) == 1 else None


@command(
    epilog="Examples:  gdcli slope --h 1e-3  |  gdcli slope 'w**3' --at 2 --h 0.5  |  "
    "gdcli slope 'abs(w)' --at 0 --h -0.1 --format json"
)
def slope(
    expr: ExprArg = None,
    h: Annotated[
        str, typer.Option("--h", help="The step between the two points (may be negative, not 0).")
    ] = "1e-3",
    at: AtOpt = None,
    wrt: WrtOpt = None,
    range_: Annotated[
        str | None, typer.Option("--range", help="x-range of the plot, A:B.", show_default=False)
    ] = None,
    sets: SetOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> None:
    """The two-point slope (l(w+h) - l(w)) / h beside the derivative at w.

    The secant through (w, l(w)) and (w+h, l(w+h)) becomes the tangent as h -> 0.
    """
    from gdcli import calculus
    from gdcli.commands import single as commands
    from gdcli.expression import parse_value

    out = Output(fmt, quiet, no_plot, color)
    text = read_expression(expr)
    with calculus.symbolic_budget():
        problem = read_problem(text, at, sets=sets or (), single=wrt or _guess(text))
        name = calculus.pick_variable(problem.loss, wrt)
        report = commands.slope(problem, name, parse_value(h), range_)
    out.emit(report)


@command(
    name="plot",
    epilog="Examples:  gdcli plot  |  gdcli plot 'max(0, 3*w+2)' --at 0.5 --range -2:2  |  "
    "gdcli plot 'log(w)' --range 0:4 > curve.txt",
)
def plot_command(
    expr: ExprArg = None,
    at: AtOpt = None,
    wrt: WrtOpt = None,
    range_: Annotated[
        str | None,
        typer.Option("--range", help="x-range A:B (default: 3 either side).", show_default=False),
    ] = None,
    sets: SetOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: Annotated[
        bool, typer.Option("--no-plot", help="Print the sampled curve as a table instead.")
    ] = False,
    color: ColorOpt = False,
) -> None:
    """Draw the loss l(w), the current point and its tangent (its slope)."""
    from gdcli import calculus
    from gdcli.commands import single as commands

    out = Output(fmt, quiet, no_plot, color)
    text = read_expression(expr)
    with calculus.symbolic_budget():
        problem = read_problem(text, at, sets=sets or (), single=wrt or _guess(text))
        name = calculus.pick_variable(problem.loss, wrt)
        report = commands.plot(problem, name, range_)
    report.plot_is_data = not no_plot
    out.emit(report)


@command(
    epilog="Examples:  gdcli descend --lr 0.1 --steps 50  |  "
    "gdcli descend 'max(0, 3*w+2)' --start 1  |  "
    "gdcli descend '(x-1)**2 + 10*(y+2)**2' --start x=0,y=0 --optimizer adam --lr 0.3  |  "
    "gdcli descend 'sum((W @ x - y)**2)' --set x=[1,2] --set y=[3,4] --start W=0 --shape W=2x2  |  "
    "gdcli descend --lr 1.5 --format csv > run.csv"
)
def descend(
    expr: ExprArg = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Where to start: 0.5; x=1,y=-2; W=0 with --shape W=2x3. Default 1.",
            show_default=False,
        ),
    ] = None,
    lr: Annotated[float, typer.Option("--lr", help="The learning rate.")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="The most updates to make.")] = 50,
    tol: Annotated[
        float, typer.Option("--tol", help="Stop (converged) when the gradient's norm <= tol.")
    ] = 1e-8,
    optimizer: OptimizerOpt = "sgd",
    momentum: MomentumOpt = None,
    dampening: DampeningOpt = None,
    nesterov: NesterovOpt = None,
    weight_decay: WeightDecayOpt = None,
    beta1: Beta1Opt = None,
    beta2: Beta2Opt = None,
    eps: EpsOpt = None,
    amsgrad: AmsgradOpt = None,
    alpha: AlphaOpt = None,
    centered: CenteredOpt = None,
    lr_decay: LrDecayOpt = None,
    initial_accumulator_value: InitialAccumulatorOpt = None,
    every: Annotated[int, typer.Option("--every", help="Show every K-th step.")] = 1,
    show_state: Annotated[
        bool, typer.Option("--show-state", help="Show the optimizer's state (buffers, m, v).")
    ] = False,
    logy: Annotated[bool, typer.Option("--logy", help="Log scale for the loss plot.")] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Do not read or write the compiled-expression cache (also GDCLI_NO_CACHE=1).",
        ),
    ] = False,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> None:
    """Run the update rule w = w - lr * dl/dw and show every step.

    The slope's sign decides the direction: slope > 0, so w decreases; slope < 0,
    so w increases. Other update rules (momentum, Adam, RMSprop, Adagrad) follow
    torch.optim, with torch's option names and defaults (except --lr, 0.1).
    """
    from gdcli.commands.descend import descend as build
    from gdcli.errors import BadInput
    from gdcli.optimizers import make_optimizer

    out = Output(fmt, quiet, no_plot, color)
    if every < 1:
        raise BadInput(f"--every must be at least 1 (got {every})")
    if steps < 1:
        raise BadInput(f"--steps must be at least 1 (got {steps})")
    from gdcli.compiled import cache_enabled
    from gdcli.points import read_compiled

    opt = make_optimizer(optimizer, lr, **_hyper(locals()))
    compiled, start_params = read_compiled(
        read_expression(expr), start, sets or (), shapes or (), cache_enabled(no_cache)
    )
    wide = (
        out.fmt in ("auto", "table") and not out.quiet and (out.fmt == "table" or out.term.is_tty)
    )
    report = build(
        compiled,
        start_params,
        opt,
        steps,
        tol,
        every,
        show_state,
        logy,
        wide,
        progress=_progress_bar(steps) if wide else None,
    )
    out.emit(report)


@command(
    epilog="Examples:  gdcli grad '(x-1)**2 + 10*(y+2)**2' --at x=0,y=0  |  "
    "gdcli grad 'sum((W @ x - y)**2)' --set x=[1,2] --set y=[3,4] --at W=0 --shape W=2x2  |  "
    "gdcli grad 'mean((tanh(W @ x) - y)**2)' --set x=[1,-1,2] --set y=[0,1] "
    "--at W=[[0.1,0.2,0.3],[0,0,0.5]] --format json"
)
def grad(
    expr: ExprArg = None,
    at: AtOpt = None,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> None:
    """Partial derivatives and the gradient of many weights, matrices included.

    For a matrix W, each partial dl/dW[i,j] treats every other entry as a constant;
    together they form the gradient, a matrix of the same shape as W (entries are
    numbered from 1).
    """
    from gdcli.calculus import symbolic_budget
    from gdcli.commands.grad import grad as build

    out = Output(fmt, quiet, no_plot, color)
    text = read_expression(expr)
    with symbolic_budget():
        report = build(read_problem(text, at, sets=sets or (), shapes=shapes or ()))
    out.emit(report)


@command(
    epilog="Examples:  gdcli check 'w**2' '2*w'  |  gdcli check 'max(0, 3*w+2)' "
    "'(3*w+2 > 0)*3'  |  gdcli check 'sin(w)**2' '2*sin(w)' --quiet || echo try again"
)
def check(
    expr: Annotated[str, typer.Argument(help="The loss ('-' reads it from stdin).")],
    answer: Annotated[str, typer.Argument(help="Your derivative, e.g. '2*(w - 3)'.")],
    wrt: WrtOpt = None,
    sets: SetOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> int:
    """Is ANSWER the derivative of EXPR? Exit 0 if right, 1 if wrong (with a
    counterexample: a point, the expected value and yours), 2 if either does not parse.

    Decided by SymPy where it can simplify the difference to 0, otherwise at many
    random points. ANSWER may use Heaviside, sign and comparisons as indicators:
    (3*w + 2 > 0)*3.
    """
    from gdcli import calculus
    from gdcli.commands.check import check as build

    out = Output(fmt, quiet, True, color)
    text = read_expression(expr)
    with calculus.symbolic_budget():
        problem = read_problem(text, None, sets=sets or ())
        name = calculus.pick_variable(problem.loss, wrt)
        report, code = build(problem, name, answer)
    out.emit(report)
    return code


@command(
    epilog="Examples:  gdcli sweep --lr 0.05:1.95:39 --start 0 --steps 3000  |  "
    "gdcli sweep 'w**4 - 3*w**2 + w' --lr 1e-3:1:50 --log --start -2:2:5  |  "
    "gdcli sweep --lr 0.01,0.1,1 --optimizer adam --format json  |  "
    "gdcli sweep --lr 0.1:3:30 --quiet   # the best lr"
)
def sweep(
    expr: ExprArg = None,
    lr: Annotated[
        str,
        typer.Option(
            "--lr", help="Learning rates: A:B:N (N values, A and B included) or a list 0.01,0.1,1."
        ),
    ] = "0.01:1:10",
    log: Annotated[bool, typer.Option("--log", help="Space A:B:N logarithmically.")] = False,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Where every run starts (as for descend); for one weight also a list "
            "of starts: -2,0,2 or A:B:N.",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="The most updates per run.")] = 50,
    tol: Annotated[float, typer.Option("--tol", help="Converged when |gradient| <= tol.")] = 1e-8,
    optimizer: OptimizerOpt = "sgd",
    momentum: MomentumOpt = None,
    dampening: DampeningOpt = None,
    nesterov: NesterovOpt = None,
    weight_decay: WeightDecayOpt = None,
    beta1: Beta1Opt = None,
    beta2: Beta2Opt = None,
    eps: EpsOpt = None,
    amsgrad: AmsgradOpt = None,
    alpha: AlphaOpt = None,
    centered: CenteredOpt = None,
    lr_decay: LrDecayOpt = None,
    initial_accumulator_value: InitialAccumulatorOpt = None,
    sets: SetOpt = None,
    shapes: ShapeOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    no_plot: NoPlotOpt = False,
    color: ColorOpt = False,
) -> None:
    """Many learning rates (and starts) at once: the outcome of each run.

    Every run follows the rules of descend (converged, max_steps, diverged), so a
    run equals `gdcli descend` with the same settings. Find where training stays
    stable: for l = (w - 3)**2 plain gradient descent diverges above lr = 2 / l'' = 1.
    """
    from gdcli.calculus import symbolic_budget
    from gdcli.commands.sweep import parse_values
    from gdcli.commands.sweep import sweep as build

    out = Output(fmt, quiet, no_plot, color)
    hyper = _hyper(locals())
    lrs = parse_values(lr, "--lr", log)
    starts = None
    start_point = start
    if start is not None and "=" not in start and (":" in start or "," in start):
        starts, start_point = parse_values(start, "--start"), None
    text = read_expression(expr)
    with symbolic_budget():
        problem = read_problem(
            text, start_point, option="--start", sets=sets or (), shapes=shapes or ()
        )
    out.emit(build(problem, lrs, starts, optimizer, hyper, steps, tol))


LONG_RUN = 50_000  # steps from which a run on a terminal shows a progress bar


def _progress_bar(steps: int) -> Any:
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


HYPER = (
    "momentum dampening nesterov weight_decay beta1 beta2 eps amsgrad alpha centered "
    "lr_decay initial_accumulator_value"
).split()


def _hyper(options: dict[str, Any]) -> dict[str, Any]:
    """The optimizer options given on the command line (None means: torch's default)."""
    return {k: options[k] for k in HYPER if options.get(k) is not None}


def _version(value: bool) -> None:
    if value:
        from gdcli import version

        print(f"{PROG} {version()}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """gdcli: a gradient descent explorer."""


# ---------------------------------------------------------------------------
# entry point: every error is one line (plus an optional hint) on stderr

_OPTION = re.compile(r"^--?[A-Za-z][\w-]*(=.*)?$")
_SHORT_FLAGS = {"-q", "-h", "-f", "-o"}


def protect_negative(args: list[str]) -> list[str]:
    """An expression or value that starts with a minus sign works as typed:
    Click would take `-w**2 + 1` or `-2/3` for an option, so such arguments get a
    leading space (every parser of ours strips it)."""
    out = []
    for arg in args:
        looks_like_option = arg in ("-", "--") or (
            _OPTION.match(arg) is not None and (arg.startswith("--") or arg in _SHORT_FLAGS)
        )
        out.append(arg if not arg.startswith("-") or looks_like_option else " " + arg)
    return out


def _command_name(args: list[str]) -> str | None:
    """The command a call runs, if plain to see (shell completion needs them all)."""
    if any(k.endswith("_COMPLETE") for k in os.environ):
        return None
    first = next((a for a in args if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def error_line(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    args = protect_negative(sys.argv[1:] if argv is None else list(argv))
    sys.exit(run(args))


def run(args: list[str]) -> int:
    """Run one command; return its exit code. Errors are written here, once."""
    from gdcli.render.output import PipeClosed

    debug = os.environ.get("GDCLI_DEBUG") == "1"
    try:
        result = build_app(_command_name(args))(args=args, prog_name=PROG, standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except PipeClosed:
        # what the reader took was all it wanted: end quietly, as `yes | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (typer.Abort, KeyboardInterrupt):
        error_line("interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        return _report(exc)


def _report(exc: Exception) -> int:
    """One line (and maybe a hint) on stderr for an error; its exit code."""
    if isinstance(exc, GdcliError):
        error_line(exc.message, exc.hint)
        return int(exc.exit_code)
    if isinstance(exc, typer.TyperException):  # Click's usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `gdcli`: the help, as it is
            sys.stderr.write(getattr(exc, "format_message", exc.__str__)() + "\n")
            return int(ExitCode.BAD_INPUT)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        command = getattr(getattr(exc, "ctx", None), "command_path", PROG)
        error_line(" ".join(message.split()), f"see '{command} --help'")
        return int(getattr(exc, "exit_code", ExitCode.BAD_INPUT))
    if isinstance(exc, RecursionError):
        error_line("expression too deeply nested to handle")
        return int(ExitCode.RESOURCE)
    if isinstance(exc, MemoryError):
        error_line("out of memory: the expression or the run is too large")
        return int(ExitCode.RESOURCE)
    error_line(  # a bug: one line, and a request for a report
        f"internal error ({type(exc).__name__}: {exc}); this is a bug in gdcli",
        "please report it with the command you ran (GDCLI_DEBUG=1 shows the traceback)",
    )
    return int(ExitCode.INTERNAL)


app = build_app()  # the whole app, for shell completion and typer.testing.CliRunner
