"""Options shared by several commands, declared once.

`output_options` adds `--format --quiet --no-plot --color` to a command and hands
it an `Output`; `optimizer_options` adds `--optimizer` and every update rule's
options, built from the optimizers' own defaults (a new optimizer touches
`gdcli/optimizers.py` only); `data_options` adds `--data` and `--vector` (and, for
a descent, the mini-batch options). Choices are enums: Typer lists them in `--help`,
validates them and completes them in the shell. The options are added when Typer
first reads a command's signature: the app holds only the command that runs, so
another command's options (the optimizers', the schedules') cost nothing.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from gdcli.cli.declare import Argument, Option


class Format(str, Enum):
    auto = "auto"
    table = "table"
    plain = "plain"
    csv = "csv"
    json = "json"


class GraphFormat(str, Enum):
    """The formats of a command that draws a computation graph: Format's and dot
    (Graphviz DOT text). Only such a command offers dot, so every other command
    refuses `--format dot` as it refuses any unknown choice (exit 2)."""

    auto = "auto"
    table = "table"
    plain = "plain"
    csv = "csv"
    json = "json"
    dot = "dot"


class Scheme(str, Enum):
    forward = "forward"
    backward = "backward"
    central = "central"


@functools.cache
def _optimizer_names() -> Any:
    from gdcli.optimizers import DEFAULTS

    return Enum("OptimizerName", {name: name for name in DEFAULTS}, type=str)


def choice(value: Any) -> str:
    """The text of a choice (an enum member or, called directly, a plain string)."""
    return str(value.value if isinstance(value, Enum) else value)


ExprArg = Annotated[
    str | None,
    Argument(
        metavar="[EXPR]",
        help="The loss, e.g. '(w - 3)**2' ('^' is power too); '-' reads it from stdin. "
        "Default: $GDCLI_LOSS or (w - 3)**2.",
        show_default=False,
    ),
]
_POINT_HELP = (
    "The point (the weights' values): 1.5, -2/3, pi/4; x=1,y=-2 for several weights; "
    "W=[[1,2],[3,4]] for a matrix. Default: w (or the loss's only name) = 1."
)
AtOpt = Annotated[str | None, Option("--at", "--start", help=_POINT_HELP, show_default=False)]
StartOpt = Annotated[
    str | None,
    Option("--start", "--at", help="Where to start. " + _POINT_HELP, show_default=False),
]
WrtOpt = Annotated[
    str | None,
    Option("--wrt", help="The weight (default: w, or the only weight).", show_default=False),
]
SetOpt = Annotated[
    list[str] | None,
    Option(
        "--set",
        help="An input, fixed while the weights move: NAME=VALUE (number, [vector], [[matrix]]).",
    ),
]
ShapeOpt = Annotated[
    list[str] | None,
    Option("--shape", help="A weight's shape: NAME=RxC (W=2x3) or NAME=N (v=3)."),
]
StepsOpt = Annotated[int, Option("--steps", help="The most updates to make.")]
DEFAULT_STEPS = 50
DataStepsOpt = Annotated[
    int | None,
    Option(
        "--steps",
        help=f"The most updates to make (default {DEFAULT_STEPS}; with --data, --epochs "
        "may say it instead).",
        show_default=False,
    ),
]
TolOpt = Annotated[float, Option("--tol", help="Stop (converged) when the gradient's norm <= tol.")]


# ---------------------------------------------------------------------------
# output options


class Output:
    """The output options every command shares, and the terminal they write to."""

    def __init__(self, fmt: str, quiet: bool, no_plot: bool, color: bool) -> None:
        from gdcli.cli.env import environ
        from gdcli.render.terminal import Terminal

        # --color asks for what a terminal gets: the coloured table (plain stays data)
        self.fmt = "table" if color and fmt == "auto" else fmt
        self.quiet = quiet
        self.plot = not no_plot
        self.term = Terminal.detect(sys.stdout, environ(), force_color=color)

    @property
    def wide(self) -> bool:
        """Will a person read a table on a terminal (not a script reading data)?"""
        if self.quiet:
            return False
        return self.fmt == "table" or (self.fmt == "auto" and self.term.is_tty)

    def emit(self, report: Any) -> None:
        from gdcli.render.output import emit

        emit(report, self.fmt, self.term, quiet=self.quiet, plot=self.plot)


class _Deferred:
    """A command's function with keyword parameters added to its signature, made when
    first asked for (by Typer reading the signature, or a call): `extra()` gives the
    parameters, `call(function, kwargs)` receives every argument and calls it."""

    def __init__(
        self,
        function: Callable[..., Any],
        extra: Callable[[], list[inspect.Parameter]],
        call: Callable[[Callable[..., Any], dict[str, Any]], Any],
    ) -> None:
        self._parts = (function, extra, call)
        self._made: Callable[..., Any] | None = None
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__doc__ = function.__doc__
        self.__module__ = function.__module__

    def _make(self) -> Callable[..., Any]:
        if self._made is None:
            function, extra, call = self._parts
            self._made = _with_parameters(function, extra(), call)
        return self._made

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._make())

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return self._make().__annotations__

    def __call__(self, **kwargs: Any) -> Any:
        return self._make()(**kwargs)


def _with_parameters(
    function: Callable[..., Any],
    extra: list[inspect.Parameter],
    call: Callable[[Callable[..., Any], dict[str, Any]], Any],
) -> Callable[..., Any]:
    """`function` with `extra` keyword parameters in its signature (Typer reads the
    signature); `call(function, kwargs)` receives every argument and calls it."""
    signature = inspect.signature(function, eval_str=True)
    names = {p.name for p in extra}
    injected = ("out", "optimizer", "schedule", "data")
    kept = [p for p in signature.parameters.values() if p.name not in injected]
    kept = [p for p in kept if p.name not in names]

    def wrapper(**kwargs: Any) -> Any:
        return call(function, kwargs)

    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(function, name))
    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + extra
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def output_options(
    no_plot_help: str = "Leave out the plot.",
    formats: type[Enum] = Format,
    format_help: str = "auto: a table and a plot on a terminal, plain text in a pipe.",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the output options; the command receives them as `out: Output`. `formats`
    is the enum of the formats it offers (`GraphFormat` adds dot)."""

    def extra() -> list[inspect.Parameter]:
        out = [
            _keyword(
                "fmt",
                Annotated[
                    formats,
                    Option("--format", "-f", case_sensitive=False, help=format_help),
                ],
                formats("auto"),
            ),
            _keyword(
                "quiet",
                Annotated[
                    bool,
                    Option("--quiet", "-q", help="Print one line of bare values (for scripts)."),
                ],
                False,
            ),
            _keyword("no_plot", Annotated[bool, Option("--no-plot", help=no_plot_help)], False),
            _keyword(
                "color",
                Annotated[
                    bool, Option("--color", help="Colour even when stdout is not a terminal.")
                ],
                False,
            ),
        ]
        return out

    def call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        out = Output(
            choice(kwargs.pop("fmt")),
            kwargs.pop("quiet"),
            kwargs.pop("no_plot"),
            kwargs.pop("color"),
        )
        return function(out=out, **kwargs)

    return lambda function: _Deferred(function, extra, call)


# ---------------------------------------------------------------------------
# optimizer options, from the optimizers' own defaults


def _optimizer_help(option: str) -> str:
    """Which update rules take an option, and their defaults: `sgd, rmsprop (default 0)`,
    `... (default 0; adamw 0.01)` where one rule differs."""
    from collections import Counter

    from gdcli.optimizers import DEFAULTS

    takers = {name: d[option] for name, d in DEFAULTS.items() if option in d}
    if all(isinstance(v, bool) for v in takers.values()):
        return ", ".join(takers) + "."
    common = Counter(takers.values()).most_common(1)[0][0]
    others = [f"{name} {value:g}" for name, value in takers.items() if value != common]
    return f"{', '.join(takers)} (default {'; '.join([f'{common:g}', *others])})."


def optimizer_option_names() -> list[str]:
    """Every update rule's options besides lr, in the order the rules list them."""
    from gdcli.optimizers import DEFAULTS

    names: list[str] = []
    for defaults in DEFAULTS.values():
        names += [n for n in defaults if n != "lr" and n not in names]
    return names


def optimizer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--optimizer` and every update rule's options (torch's names); the command
    receives `optimizer=(name, hyper)`, hyper holding only the options given."""

    def extra() -> list[inspect.Parameter]:
        from gdcli.optimizers import DEFAULTS

        names = _optimizer_names()
        out = [
            _keyword(
                "optimizer_name",
                Annotated[
                    names,
                    Option("--optimizer", "-o", case_sensitive=False, help="The update rule."),
                ],
                names("sgd"),
            )
        ]
        for option in optimizer_option_names():
            flag = "--" + option.replace("_", "-")
            default = next(d[option] for d in DEFAULTS.values() if option in d)
            kind: Any = bool if isinstance(default, bool) else float
            info = Option(flag, help=_optimizer_help(option), show_default=False)
            out.append(_keyword(option, Annotated[kind | None, info], None))
        return out

    def call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        name = choice(kwargs.pop("optimizer_name"))
        hyper = {k: kwargs.pop(k) for k in optimizer_option_names() if kwargs.get(k) is not None}
        for k in optimizer_option_names():
            kwargs.pop(k, None)
        return function(optimizer=(name, hyper), **kwargs)

    return _Deferred(function, extra, call)


# ---------------------------------------------------------------------------
# learning-rate schedules, from the schedules' own constructors

SCHEDULE_FLAG_NAMES = {"eps": "plateau_eps"}  # the optimizers' eps is another option


def _schedule_help(option: str) -> str:
    """Which schedules take an option, its choices and defaults: `step, multistep
    (default 0.1; exponential: required; cyclic: 1)`."""
    from collections import Counter

    from gdcli.schedules import OPTIONS

    takers = {name: o[option] for name, o in OPTIONS.items() if option in o}
    first = next(iter(takers.values()))
    text = ", ".join(takers)
    if first.choices:
        text += f": {' | '.join(first.choices)}"
    shown = {
        name: "required" if o.required else _default_text(o.default)
        for name, o in takers.items()
        if o.default is not None
    }
    if shown:
        common = Counter(shown.values()).most_common(1)[0][0]
        others = [f"{name}: {value}" for name, value in shown.items() if value != common]
        head = "required" if common == "required" else f"default {common}"
        text += f" ({'; '.join([head, *others])})"
    return text + "."


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def schedule_option_names() -> list[str]:
    from gdcli.schedules import OPTIONS

    names: list[str] = []
    for options in OPTIONS.values():
        names += [n for n in options if n not in names]
    return names


def schedule_options(
    positional: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `--scheduler` (or, `positional`, the argument NAME) and every schedule's
    options (torch's names, torch's defaults); the command receives
    `schedule=(name, options, base_lr)` or None. An option of a schedule without a
    schedule is refused, naming it."""
    return lambda function: _schedule_options(function, positional)


def _schedule_options(function: Callable[..., Any], positional: bool) -> Callable[..., Any]:
    found: list[list[str]] = []

    def shared() -> list[str]:
        """An option the command declares already (onecycle's epochs is the data's
        --epochs) is the command's: it stays in place, and goes to a schedule that
        takes it too."""
        if not found:
            declared = set(inspect.signature(function).parameters)
            names = schedule_option_names()
            found.append([o for o in names if SCHEDULE_FLAG_NAMES.get(o, o) in declared])
        return found[0]

    def parameters() -> list[inspect.Parameter]:
        from gdcli.schedules import OPTIONS, SCHEDULES

        names = Enum(  # type: ignore[misc]
            "ScheduleName", {name: name for name in SCHEDULES}, type=str
        )
        which: Any = (
            Argument(
                metavar="NAME",
                case_sensitive=False,
                help="The schedule: " + " | ".join(SCHEDULES) + ".",
                show_default=False,
            )
            if positional
            else Option(
                "--scheduler",
                case_sensitive=False,
                help="A learning-rate schedule (torch.optim.lr_scheduler's), stepped once per update.",
                show_default=False,
            )
        )
        extra = [
            _keyword(
                "scheduler",
                Annotated[names if positional else names | None, which],
                inspect.Parameter.empty if positional else None,
            ),
            _keyword(
                "base_lr",
                Annotated[
                    float | None,
                    Option("--base-lr", help="cyclic: the cycle's lower lr (default: --lr)."),
                ],
                None,
            ),
        ]
        for option in schedule_option_names():
            if option in shared():
                continue
            spec = next(o[option] for o in OPTIONS.values() if option in o)
            flag = "--" + SCHEDULE_FLAG_NAMES.get(option, option).replace("_", "-")
            kind: Any = {int: int, float: float, str: str, tuple: str, bool: bool}[spec.kind]
            names_ = [f"{flag}/--no-{flag[2:]}"] if spec.kind is bool else [flag]
            info = Option(*names_, help=_schedule_help(option), show_default=False)
            extra.append(
                _keyword(
                    SCHEDULE_FLAG_NAMES.get(option, option), Annotated[kind | None, info], None
                )
            )
        return extra

    def call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        from gdcli.errors import BadValue
        from gdcli.schedules import OPTIONS

        chosen = kwargs.pop("scheduler")
        base_lr = kwargs.pop("base_lr")
        given: dict[str, Any] = {}
        for option in schedule_option_names():
            if option in shared():
                continue
            value = kwargs.pop(SCHEDULE_FLAG_NAMES.get(option, option))
            if value is not None:
                given[option] = value
        if chosen is not None:
            for option in shared():
                value = kwargs.get(SCHEDULE_FLAG_NAMES.get(option, option))
                if value is not None and option in OPTIONS[choice(chosen)]:
                    given[option] = value
        if chosen is None:
            for option in [*given, *(["base_lr"] if base_lr is not None else [])]:
                raise BadValue(
                    SCHEDULE_FLAG_NAMES.get(option, option),
                    "is an option of a learning-rate schedule: give --scheduler too",
                )
            return function(schedule=None, **kwargs)
        name = choice(chosen)
        if "milestones" in given:
            given["milestones"] = _whole_numbers(given["milestones"], "milestones")
        if base_lr is not None and name != "cyclic":
            raise BadValue("base_lr", f"is an option of cyclic, not of {name}")
        return function(schedule=(name, given, base_lr), **kwargs)

    return _Deferred(function, parameters, call)


# ---------------------------------------------------------------------------
# training data


class DataOptions:
    """`--data` and its companions, as given (None: not given). A plain class: a
    dataclass would cost start-up time on every call."""

    def __init__(
        self,
        path: str,
        vectors: list[str] | None = None,
        batch_size: int | None = None,
        shuffle: bool | None = None,
        seed: int | None = None,
        epochs: int | None = None,
        full: bool = False,
    ) -> None:
        self.path = path
        self.vectors = list(vectors or [])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epochs = epochs
        self.full = full


def data_options(
    batches: bool = False, full: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `--data FILE.csv` and `--vector NAME=COL,...`; with `batches` also
    `--batch-size --shuffle/--no-shuffle --seed --epochs`, with `full` `--full`. The
    command receives `data=DataOptions(...)`, or None without `--data` (an option of
    the data without `--data` is refused, naming it)."""

    def extra() -> list[inspect.Parameter]:
        out = [
            _keyword(
                "data_path",
                Annotated[
                    str | None,
                    Option(
                        "--data",
                        metavar="FILE.csv",
                        help="Training data: a CSV with a header, one example per row; each "
                        "column binds its header name. The loss is written per example and gdcli "
                        "minimises the mean over the examples. '-' reads stdin.",
                        show_default=False,
                    ),
                ],
                None,
            ),
            _keyword(
                "vectors",
                Annotated[
                    list[str] | None,
                    Option(
                        "--vector",
                        metavar="NAME=COL,COL,...",
                        help="Group columns into one vector per example: x=x1,x2,x3 (repeatable).",
                        show_default=False,
                    ),
                ],
                None,
            ),
        ]
        if batches:
            out += [
                _keyword(
                    "batch_size",
                    Annotated[
                        int | None,
                        Option(
                            "--batch-size",
                            help="Examples per update (default: every example, full batch).",
                            show_default=False,
                        ),
                    ],
                    None,
                ),
                _keyword(
                    "shuffle",
                    Annotated[
                        bool | None,
                        Option(
                            "--shuffle/--no-shuffle",
                            help="A new order of the examples each epoch (default: on when "
                            "--batch-size is smaller than the data).",
                            show_default=False,
                        ),
                    ],
                    None,
                ),
                _keyword(
                    "seed",
                    Annotated[
                        int | None,
                        Option(
                            "--seed",
                            help="The shuffle's seed: numpy.random.default_rng(SEED) draws a new "
                            "permutation each epoch (default 0: the same command, the same numbers).",
                            show_default=False,
                        ),
                    ],
                    None,
                ),
                _keyword(
                    "epochs",
                    Annotated[
                        int | None,
                        Option(
                            "--epochs",
                            help="Passes over the data, instead of --steps: E x ceil(N / B) steps "
                            "(onecycle: also its epochs, as torch's).",
                            show_default=False,
                        ),
                    ],
                    None,
                ),
            ]
        if full:
            out.append(
                _keyword(
                    "full",
                    Annotated[
                        bool,
                        Option(
                            "--full",
                            help="Also each step's loss and gradient over every example, and the "
                            "cosine between the batch's gradient and that one.",
                        ),
                    ],
                    False,
                )
            )
        return out

    companions = ["vectors", *(["batch_size", "shuffle", "seed", "epochs"] if batches else [])]
    companions += ["full"] if full else []

    def call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        from gdcli.errors import BadValue

        path = kwargs.pop("data_path")
        given = {name: kwargs.pop(name) for name in companions}
        if path is None:
            schedule = kwargs.get("schedule")
            for name, value in given.items():
                if name == "epochs" and schedule is not None and "epochs" in schedule[1]:
                    continue  # onecycle's epochs, without data
                if value not in (None, False, []):
                    parameter = "vector" if name == "vectors" else name
                    raise BadValue(parameter, "needs training data: give --data FILE.csv too")
            return function(data=None, **kwargs)
        given["vectors"] = list(given["vectors"] or [])
        return function(data=DataOptions(path, **given), **kwargs)

    return lambda function: _Deferred(function, extra, call)


def _whole_numbers(text: str, parameter: str) -> tuple[int, ...]:
    from gdcli.errors import BadValue

    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BadValue(
            parameter, f"must be whole numbers separated by commas (got {text!r})"
        ) from None


__all__ = [
    "AtOpt",
    "DataOptions",
    "DataStepsOpt",
    "ExprArg",
    "Format",
    "GraphFormat",
    "Output",
    "Scheme",
    "SetOpt",
    "ShapeOpt",
    "StartOpt",
    "StepsOpt",
    "TolOpt",
    "WrtOpt",
    "data_options",
    "optimizer_options",
    "output_options",
]


def _number(kind: Any, value: Any, param: Any, ctx: Any) -> Any:
    """A float option, read by `gdcli.cli.plain.number` (the rule every typed number
    follows); Click's own words for text that is no number."""
    from gdcli.cli.plain import OutOfRange, number

    if isinstance(value, float):
        return value
    text = str(value).strip()
    try:
        return number(text)
    except OutOfRange:
        from gdcli.parse.syntax import RANGE_HINT

        kind.fail(f"{text} is out of range: {RANGE_HINT}.", param, ctx)
    except ValueError:
        kind.fail(f"{text!r} is not a valid float.", param, ctx)


def typed_numbers(command: Any) -> Any:
    """Every float option of a Click `command` (and of its subcommands) read by
    `_number` (Click's own float type would take 1e-330 for 0 and 1e330 for inf)."""
    for param in command.params:
        kind = type(param.type)
        if kind.__name__ == "FloatParamType":  # not FloatRange: its bounds are checked
            typed = kind()
            typed.convert = functools.partial(_number, typed)
            param.type = typed
    for sub in getattr(command, "commands", {}).values():
        typed_numbers(sub)
    return command
