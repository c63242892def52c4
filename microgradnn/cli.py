r"""The ``microgradnn`` command: ``demo``, ``train``, ``watch`` and ``graph``.

``microgradnn demo`` trains micrograd's classic two-moons network in a few seconds and writes
the model, its history and pictures into ``out/``, with the forward and backward graph of one
trained neuron and a page that steps through its backward pass; ``microgradnn train`` does the
same (without the neuron) for any toy data set, with defaults per data set
(:data:`DATA_DEFAULTS`) that fit it and any network and optimizer you choose;
``microgradnn graph "EXPR"`` draws the computation graph of an expression
(:func:`add_graph_arguments` and :func:`cli_graph` let another parser host it);
``microgradnn watch`` records training step by step into an offline page
(:class:`~microgradnn.viz.watch.TrainingView`).
``python -m microgradnn`` is the same command.

The choices come from the package's tables: losses from :data:`~microgradnn.losses.LOSS_INFO`,
optimizers from :data:`~microgradnn.optim.OPTIMIZERS`, activations from
:data:`~microgradnn.activations.ACTIVATIONS`; a loss's row also says which targets it takes and
how many outputs the network needs.

Every failure ends in one line on stderr, ``microgradnn COMMAND: error: ...`` (after argparse's
usage lines for a bad argument), never in a traceback, as git and pip do. The exit status says
which kind of failure it was: 0 done; 1 the command could not do it (a file it cannot write,
training that diverged, graphviz missing); 2 bad arguments; 130 interrupted (Ctrl-C). Anything
else that escapes a command is a bug, reported as ``internal error: TYPE: MESSAGE; please report
it`` (exit status 1); set ``MICROGRADNN_DEBUG=1`` to see its traceback instead. Messages show
control characters from the input escaped (``\x1b``), so they cannot repaint the terminal.

``demo`` and ``train`` check that they can write ``--out`` before training, write the run into a
new folder beside it and swap that in whole at the end: ``--out`` always holds one complete run,
and a run that fails or is interrupted leaves the earlier one as it was. They refuse a network
whose scalar graph would not fit in memory (more than :data:`MAX_PARAMETERS` parameters, or more
than :data:`MAX_GRAPH_NODES` nodes in one update's graph) before building it, and stop with an
error, writing nothing, when the loss or the weights stop being finite numbers.

>>> main(["--version"])
microgradnn ...
0
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N803, N806

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TextIO, TypeVar

import numpy as np

from microgradnn._checks import choice, describe, integer, number
from microgradnn.activations import ACTIVATIONS
from microgradnn.losses import LOSS_INFO, Loss, labels_of, loss_info
from microgradnn.optim import OPTIMIZERS
from microgradnn.viz.expr import ExpressionError, parse_expression
from microgradnn.viz.text import MAX_FORMAT_WIDTH, number_format

__all__ = [
    "MAX_COORDINATE",
    "MAX_EPOCHS",
    "MAX_GRAPH_NODES",
    "MAX_PARAMETERS",
    "MAX_POINTS",
    "add_graph_arguments",
    "build_parser",
    "cli_graph",
    "main",
    "parse_assignments",
]

T = TypeVar("T")

DATASETS = ("xor", "and", "or", "moons", "circles", "spirals", "blobs", "digits")
_BINARY = frozenset({"xor", "and", "or", "moons", "circles"})
_GATES = frozenset({"xor", "and", "or"})
_TWO_CLASS_TARGETS = frozenset({"signs", "probabilities"})
"""Loss target kinds that hold two classes only (one output: -1/+1, or the probability of 1)."""
_VIEWS = ("forward", "backward", "both")

_TOY = {"layers": [16, 16], "activation": "relu", "optimizer": "adam", "batch_size": 32}
_GATE = {
    "layers": [4],
    "activation": "tanh",
    "optimizer": "adam",
    "lr": 0.1,
    "epochs": 200,
    "batch_size": None,
}
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "xor": _GATE,
    "and": _GATE,
    "or": _GATE,
    "moons": {**_TOY, "lr": 0.05, "epochs": 50},
    "circles": {**_TOY, "lr": 0.05, "epochs": 50},
    "spirals": {**_TOY, "layers": [32, 32], "lr": 0.01, "epochs": 100},
    "blobs": {**_TOY, "lr": 0.01, "epochs": 50},
    "digits": {**_TOY, "lr": 0.01, "epochs": 10},
}
"""``train``'s defaults per data set, each chosen so that its default run fits its training set
(100% on the gates, moons and circles at seed 0; see ``train --help``): a four-point gate needs a
few tanh units and full-batch steps, a spiral a wider network."""

_PER_DATA = tuple(next(iter(DATA_DEFAULTS.values())))
"""The options whose default depends on ``--data``."""


DEMO = {
    "data": "moons",
    "n": 100,
    "noise": 0.1,
    "layers": [16, 16],
    "activation": "relu",
    "loss": "hinge",
    "l2": 1e-4,
    "optimizer": "sgd",
    "lr": 1.0,
    "lr_end_factor": 0.1,
    "epochs": 100,
    "batch_size": None,
    "seed": 0,
}
"""micrograd's demo: 100 noisy moons, MLP 2-16-16-1, hinge + L2 1e-4, GD with lr 1.0 -> 0.1."""


MAX_POINTS = 100_000
"""The most points ``train --n`` generates (an epoch over them already takes minutes)."""

MAX_EPOCHS = 100_000
"""The most epochs ``train --epochs`` and ``demo --epochs`` run."""

MAX_PARAMETERS = 2_000_000
"""The most parameters a network of ``train`` may have: each is a Python object, and building
more takes minutes before the first update."""

MAX_GRAPH_NODES = 5_000_000
"""The most scalar nodes one update may build: per batch in eager mode, per example with
``--compiled`` (which traces one example and replays it over the batch with numpy). Each node is
a Python object of a few hundred bytes, so a larger graph needs gigabytes of memory."""

MAX_COORDINATE = 1e150
"""The largest coordinate ``train --noise`` may make: a square of a number beyond it (in a loss,
in the L2 penalty) overflows to inf."""

MAX_WATCH_STEPS = 5_000
"""The most steps ``watch --steps`` records (each is a frame of the page)."""

MAX_WATCH_PARAMETERS = 2_000
"""The most parameters a network of ``watch`` may have: the page tabulates each one per step."""

PICTURE_VALUES = 32_000_000
"""The most node values the decision-boundary picture holds at once (256 MB of floats): it
replays the network's graph over a grid of points, so a larger network gets a coarser grid."""

NEURON_FILES = ("neuron_forward.svg", "neuron_backward.svg", "neuron_steps.html")
"""What ``demo`` adds: one trained neuron's forward and backward graph, and its backward pass
step by step."""

RUN_FILES = (
    "model.json",
    "summary.json",
    "history.json",
    "loss.png",
    "decision_boundary.png",
    *NEURON_FILES,
)
"""What a run writes into ``--out``; a folder holding anything else is not replaced."""


class CliError(Exception):
    """A problem to report as one line on stderr (exit status 1), not as a traceback."""


def _printable(text: str) -> str:
    r"""``text`` with every control character escaped as ``repr`` shows it (``\x1b``, ``\n``).

    User input goes into error messages; escaped, it can neither repaint the terminal nor break
    the message over several lines.

    >>> _printable("x\x1b[31m\n")
    'x\\x1b[31m\\n'
    """
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _shown(text: str) -> str:
    """``repr(text)``, shortened as :func:`describe` shortens it."""
    return describe(text).removeprefix("str ")


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose error line shows control characters escaped."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``PROG: error: MESSAGE`` on stderr, then exit with status 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {_printable(message)}\n")


# -- argument types: bad values become argparse errors (exit status 2) ------------------------

_ARG = "value"


def _checked(
    check: Callable[..., T], convert: Callable[[str], object], **bounds: Any
) -> Callable[[str], T]:
    """An argparse type: ``convert`` the text, then ``check(name, value, **bounds)`` it.

    The message is the check family's wording; argparse puts the option's name in front
    (``argument --lr: expected a number > 0, got -1.0``).
    """

    def parse(text: str) -> T:
        value: object
        try:
            value = convert(text)
        except ValueError:
            value = text  # not a number at all: the check says what it expected
        try:
            return check(_ARG, value, **bounds)
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"{_ARG}: ")) from None

    return parse


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for an integer in ``[low, high]``; each bound has its own message."""
    at_least = _checked(integer, int, low=low)
    at_most = _checked(integer, int, high=high)

    def parse(text: str) -> int:
        at_least(text)
        return at_most(text)

    return parse


def _layers(text: str) -> list[int]:
    """``"16,16"`` -> [16, 16]; ``""`` or ``"none"`` -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes: list[int] = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected hidden layer sizes like 16,16, got {_shown(text)}"
            ) from None
        try:
            sizes.append(integer("layer size", size, low=1))
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return sizes


def _batch_size(text: str) -> int | None:
    if text.strip().lower() in ("all", "none", "full"):
        return None
    return _checked(integer, int, low=1)(text)


def _number_format_type(text: str) -> str:
    try:
        return number_format("number format", text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("number format: ")) from None


# -- the parser ---------------------------------------------------------------------------------


def _defaults_epilog(epochs: bool = True) -> str:
    """``--help``'s table of defaults per data set (data sets sharing them share a line)."""
    rows: dict[str, list[str]] = {}
    for name, d in DATA_DEFAULTS.items():
        options = (
            f"--layers {','.join(map(str, d['layers']))} --activation {d['activation']} "
            f"--optimizer {d['optimizer']} --lr {d['lr']:g} "
            + (f"--epochs {d['epochs']} " if epochs else "")
            + f"--batch-size {'all' if d['batch_size'] is None else d['batch_size']}"
        )
        rows.setdefault(options, []).append(name)
    lines = [f"  {', '.join(names)}:\n    {options}" for options, names in rows.items()]
    return "defaults per data set:\n" + "\n".join(lines)


_PER_DATA_HELP = "default: per data set, below"


def _add_network_options(
    parser: argparse.ArgumentParser, *, n: int, layers: str, batch: str, seed: str
) -> None:
    """The data, network, loss and optimizer options ``train`` and ``watch`` share.

    ``n`` is the default number of points; ``layers`` adds to the ``--layers`` help (its size
    limit), ``batch`` names what one batch makes (an update, a step), ``seed`` what it seeds.
    """
    per_data = _PER_DATA_HELP
    parser.add_argument("--data", choices=DATASETS, default="moons", help="default: moons")
    parser.add_argument(
        "--n",
        type=_count(4, MAX_POINTS),
        default=n,
        help=f"points to generate (default {n}; at most {MAX_POINTS:,}; not for xor/and/or/digits)",
    )
    parser.add_argument(
        "--noise",
        type=_checked(number, float, low=0.0),
        default=None,
        help="data noise (default: the data set's own)",
    )
    parser.add_argument(
        "--layers",
        type=_layers,
        default=argparse.SUPPRESS,
        help=f"hidden sizes, e.g. 16,16 ({per_data}); {layers}",
    )
    parser.add_argument(
        "--activation", choices=tuple(ACTIVATIONS), default=argparse.SUPPRESS, help=per_data
    )
    parser.add_argument(
        "--loss",
        choices=tuple(LOSS_INFO),
        default=None,
        help="default: hinge for two classes, cross_entropy for more",
    )
    parser.add_argument(
        "--optimizer", choices=tuple(OPTIMIZERS), default=argparse.SUPPRESS, help=per_data
    )
    parser.add_argument(
        "--lr",
        type=_checked(number, float, low=0.0, low_open=True),
        default=argparse.SUPPRESS,
        help=f"learning rate ({per_data})",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=argparse.SUPPRESS,
        help=f"examples per {batch}, 'all' for gradient descent, 1 for SGD ({per_data})",
    )
    parser.add_argument(
        "--seed",
        type=_checked(integer, int, low=0),
        default=0,
        help=f"seeds {seed} (default 0)",
    )
    parser.add_argument(
        "--l2",
        type=_checked(number, float, low=0.0),
        default=0.0,
        help="weight of the L2 penalty on the weights (default 0)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``microgradnn`` argument parser, with its ``demo``, ``train`` and ``graph`` commands."""
    from microgradnn import __version__

    parser = _Parser(
        prog="microgradnn",
        description="A scalar autograd engine for teaching backprop: train and draw networks.",
    )
    parser.add_argument("--version", action="version", version=f"microgradnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="train micrograd's two-moons MLP and write results into out/",
        description=(
            "Train an MLP 2-16-16-1 (ReLU) on 100 two-moons points with hinge loss + L2 1e-4 "
            "and full-batch gradient descent, lr 1.0 -> 0.1 over 100 epochs (micrograd's demo)."
        ),
    )
    demo.add_argument(
        "--out", default="out", help="output folder (default: out); an earlier run is replaced"
    )
    demo.add_argument(
        "--epochs", type=_count(1, MAX_EPOCHS), default=DEMO["epochs"], help="default: 100"
    )
    demo.add_argument(
        "--seed", type=_checked(integer, int, low=0), default=DEMO["seed"], help="default: 0"
    )
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.add_argument(
        "--compiled", action="store_true", help="replay the traced graph with numpy (faster)"
    )

    train = sub.add_parser(
        "train",
        help="train an MLP on a toy data set",
        description="Train an MLP on a data set and write model, history and pictures.",
        epilog=_defaults_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.set_defaults(subparser=train)
    _add_network_options(
        train,
        n=200,
        layers=(
            f"at most {MAX_PARAMETERS:,} parameters and {MAX_GRAPH_NODES:,} graph nodes per "
            "update (per example with --compiled)"
        ),
        batch="update",
        seed="the data, the split, the weights and the batches",
    )
    train.add_argument(
        "--epochs", type=_count(1, MAX_EPOCHS), default=argparse.SUPPRESS, help=_PER_DATA_HELP
    )
    train.add_argument(
        "--val-fraction",
        type=_checked(number, float, low=0.0, high=1.0, high_open=True),
        default=0.2,
        help="held-out share for validation (default 0.2; none for xor/and/or)",
    )
    train.add_argument(
        "--out", default="out", help="output folder (default: out); an earlier run is replaced"
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument(
        "--compiled", action="store_true", help="replay the traced graph with numpy (faster)"
    )

    _add_watch(sub)

    graph = sub.add_parser(
        "graph",
        help="draw the computation graph of an expression",
        description=(
            "Evaluate an expression, back-propagate and draw its graph, e.g. "
            'graph "tanh(w*x + b)" --set x=2 w=-3 b=1 -o graph.svg'
        ),
    )
    add_graph_arguments(graph)
    return parser


# -- running ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 when done; 1 when the command could not do it (one line on stderr says why); 2 for bad
    arguments (argparse's usage error); 130 when interrupted with Ctrl-C.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    prog = parser.prog
    try:
        try:
            args = parser.parse_args(_expression_last(words))
        except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
            return _status(exit_)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        prog = f"{parser.prog} {args.command}"
        if args.command == "demo":
            status = _demo(args)
        elif args.command == "train":
            status = _train(args, args.subparser)
        elif args.command == "watch":
            status = _watch(args, args.subparser)
        else:
            status = _graph(args)
        _flush()  # here, not at exit, where a closed pipe would print a traceback-like warning
        return status
    except SystemExit as exit_:  # parser.error() for a bad combination of options
        return _status(exit_)
    except CliError as err:
        _report(prog, f"error: {err}")
        return 1
    except KeyboardInterrupt:
        _report(prog, "interrupted")
        return 130
    except MemoryError:
        _report(prog, "error: out of memory")
        return 1
    except _OutputClosedError:
        with suppress(OSError, ValueError):  # Python's own flush at exit goes nowhere, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1  # the reader stopped reading (`| head`): nothing left to say, as git
    except Exception as err:
        if os.environ.get("MICROGRADNN_DEBUG") == "1":
            raise
        _report(prog, f"error: internal error: {type(err).__name__}: {err}; please report it")
        return 1


def _add_watch(sub: Any) -> None:
    """The ``watch`` command's arguments: ``train``'s data and network options, plus steps."""
    watch = sub.add_parser(
        "watch",
        help="record training step by step into an offline HTML page",
        description=(
            "Train an MLP step by step and write a self-contained page that replays every step: "
            "forward, loss, backward, update, the decision boundary and one example's graph."
        ),
        epilog=_defaults_epilog(epochs=False),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.set_defaults(subparser=watch)
    _add_network_options(
        watch,
        n=100,
        layers=f"at most {MAX_WATCH_PARAMETERS:,} parameters",
        batch="step",
        seed="the data, the weights and the batches",
    )
    watch.add_argument(
        "--steps",
        type=_count(1, MAX_WATCH_STEPS),
        default=200,
        help=f"optimizer steps to record (default 200; at most {MAX_WATCH_STEPS:,})",
    )
    watch.add_argument(
        "--example",
        type=_checked(integer, int, low=0),
        default=0,
        help="the point whose graph the page shows first (default 0)",
    )
    watch.add_argument(
        "-o", "--out", default="watch.html", help="the page to write (default: watch.html)"
    )


def _watch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from microgradnn.nn import MLP
    from microgradnn.viz.watch import TrainingView

    loss = _loss_for(args, parser)
    given = {name: getattr(args, name, DATA_DEFAULTS[args.data][name]) for name in _PER_DATA}
    out = str(args.out)
    if not out or "\x00" in out or os.path.isdir(out):
        parser.error(f"--out: expected a file name, got {_shown(out)}")
    X, labels = _load_data(args.data, args.n, args.noise, args.seed)
    if args.example >= len(X):
        parser.error(f"--example {args.example}: the data has {len(X)} points (0..{len(X) - 1})")
    row = _loss_row(loss)
    y, nout = row.targets_for(labels, int(labels.max()) + 1)
    sizes = [X.shape[1], *given["layers"], nout]
    parameters = sum(a * b + b for a, b in itertools.pairwise(sizes))
    if parameters > MAX_WATCH_PARAMETERS:
        raise CliError(
            f"--layers: the network would have {parameters:,} parameters, more than the "
            f"{MAX_WATCH_PARAMETERS:,} a watch page tabulates; use smaller layers"
        )
    batch = len(X) if given["batch_size"] is None else min(given["batch_size"], len(X))
    _check_network(sizes, batch, compiled=False)
    model = MLP(
        X.shape[1],
        sizes[1:],
        activation=given["activation"],
        output_activation=row.output_activation,
        seed=args.seed,
    )
    shape = "-".join(map(str, sizes))
    _say(
        f"{args.data}: {len(X)} points, MLP {shape} {given['activation']}, {loss} loss, "
        f"{given['optimizer']} lr {given['lr']:g}, batch {given['batch_size'] or 'all'}: "
        f"recording {args.steps} steps"
    )
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            view = TrainingView(
                model,
                X,
                y,
                loss=loss,
                optimizer=given["optimizer"],
                lr=given["lr"],
                batch_size=given["batch_size"],
                l2=args.l2,
                seed=args.seed,
                example=args.example,
            )
            view.train(args.steps)
        except (ValueError, ArithmeticError) as err:
            raise CliError(f"training failed: {err}") from None
    seconds = time.perf_counter() - start
    with _writing(out):
        path = view.save_html(out)
    last = view.frames[-1]
    _say(
        f"training loss {view.initial_loss:.4g} -> {last.train_loss:.4g} after {args.steps} "
        f"steps ({seconds:.1f} s)"
    )
    size = os.path.getsize(path) / 1e6
    _say(f"wrote {_printable(out)} ({size:.1f} MB); open it in a browser (it works offline)")
    return 0


def _status(exit_: SystemExit) -> int:
    return exit_.code if isinstance(exit_.code, int) else 1


def _report(prog: str, text: str) -> None:
    """Print ``PROG: TEXT`` on stderr, as one line."""
    print(f"{prog}: {_printable(text)}", file=sys.stderr)


class _OutputClosedError(BrokenPipeError):
    """stdout is a pipe whose reader stopped reading (``microgradnn graph ... | head -1``)."""


def _say(text: str, stream: TextIO | None = None) -> None:
    """Print a line on ``stream`` (default stdout); a closed pipe is :class:`_OutputClosedError`."""
    try:
        print(text, file=stream or sys.stdout)
    except BrokenPipeError:
        raise _OutputClosedError from None


def _flush() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise _OutputClosedError from None


def _expression_last(words: list[str]) -> list[str]:
    """``graph -x*2 --set x=1`` as ``graph --set x=1 -- -x*2``, for argparse.

    argparse takes a word that starts with ``-`` for an option, so a student's ``-x*2`` would be
    "unrecognized". The one word of ``graph`` that starts with ``-`` and is none of its options
    (nor an option's value) moves behind ``--``, where argparse reads it as the expression.
    Nothing moves when the words hold ``--`` already, or more than one such word.
    """
    command = next((k for k, word in enumerate(words) if not word.startswith("-")), None)
    if command is None or words[command] != "graph" or "--" in words:
        return words
    # argparse has no public list of a parser's options; this dict is where it keeps them.
    options = add_graph_arguments(argparse.ArgumentParser())._option_string_actions
    rest = words[command + 1 :]
    loose: list[int] = []
    value_next = False
    for k, word in enumerate(rest):
        if value_next:
            value_next = False
            continue
        if not word.startswith("-") or word == "-":
            continue
        if word.startswith("--"):
            name, attached = word.partition("=")[0], "=" in word
            known = [o for o in options if o.startswith("--") and o.startswith(name)]
            action = options[name] if name in options else options[known[0]] if known else None
        else:
            action, attached = options.get(word[:2]), len(word) > 2
        if action is None:
            loose.append(k)
        else:
            value_next = action.nargs is None and not attached
    if len(loose) != 1:
        return words
    k = loose[0]
    return [*words[: command + 1], *rest[:k], *rest[k + 1 :], "--", rest[k]]


def _demo(args: argparse.Namespace) -> int:
    config = dict(DEMO, epochs=args.epochs, seed=args.seed, compiled=args.compiled, neuron=True)
    epochs = config["epochs"]
    _say(
        f"two moons: {config['n']} points (noise {config['noise']}), MLP 2-16-16-1 relu, "
        f"hinge loss + L2 {config['l2']:g}, gradient descent with lr 1.0 -> 0.1 over "
        f"{epochs} epoch{'' if epochs == 1 else 's'}"
    )
    return _run(config, args.out, progress=not args.no_progress, hint="")


def _loss_row(name: str) -> Loss:
    """The loss table's row for a loss name."""
    row = loss_info(name)
    assert row is not None  # a name always has a row
    return row


def _loss_for(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """``--loss``, or the default for the data set; a two-class loss on more classes is refused."""
    multiclass = args.data not in _BINARY
    loss = str(args.loss or ("cross_entropy" if multiclass else "hinge"))
    if multiclass and _loss_row(loss).targets in _TWO_CLASS_TARGETS:
        others = [r.name for r in LOSS_INFO.values() if r.targets not in _TWO_CLASS_TARGETS]
        parser.error(
            f"--loss {loss} needs two classes; --data {args.data} has more "
            f"(use {' or '.join(others)})"
        )
    return loss


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    loss = _loss_for(args, parser)
    given = {name: getattr(args, name, DATA_DEFAULTS[args.data][name]) for name in _PER_DATA}
    config: dict[str, Any] = {
        "data": args.data,
        "n": args.n,
        "noise": args.noise,
        "layers": list(given["layers"]),
        "activation": given["activation"],
        "loss": loss,
        "l2": args.l2,
        "optimizer": given["optimizer"],
        "lr": given["lr"],
        "lr_end_factor": None,
        "epochs": given["epochs"],
        "batch_size": given["batch_size"],
        "seed": args.seed,
        "val_fraction": 0.0 if args.data in _GATES else args.val_fraction,
        "compiled": args.compiled,
    }
    hint = "; try a smaller --lr" + (" or --l2" if args.l2 > 0 else "")
    return _run(config, args.out, progress=not args.no_progress, hint=hint)


def _load_data(name: str, n: int, noise: float | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from microgradnn import data

    if name == "xor":
        return data.make_xor()
    if name == "and":
        return data.make_and()
    if name == "or":
        return data.make_or()
    if name == "digits":
        try:
            return data.load_digits()
        except ImportError as err:
            raise CliError(str(err)) from None
    makers: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
        "moons": data.make_moons,
        "circles": data.make_circles,
        "spirals": data.make_spirals,
        "blobs": data.make_blobs,
    }
    kwargs: dict[str, Any] = {"n": n, "seed": seed}
    if noise is not None:
        kwargs["std" if name == "blobs" else "noise"] = noise
    with np.errstate(over="ignore", invalid="ignore"):
        X, labels = makers[name](**kwargs)
        reach = float(np.max(np.abs(X)))
    if not reach <= MAX_COORDINATE:
        shown = "numbers that are not finite" if not math.isfinite(reach) else f"{reach:.3g}"
        raise CliError(
            f"--noise {noise:g} is too large: the points reach {shown}, beyond "
            f"{MAX_COORDINATE:g} (their squares would overflow); use a smaller --noise"
        )
    return X, labels


def _split_sizes(val_fraction: float, n: int, data: str) -> int:
    """The number of validation rows ``--val-fraction`` holds out of ``n``; at least one."""
    n_val = math.ceil(val_fraction * n)
    if n_val >= n:
        more = "" if data == "digits" else " or a larger --n"
        raise CliError(
            f"--val-fraction {val_fraction:g} of {n} points holds out {n_val} for validation, "
            f"which leaves no training points; use a smaller --val-fraction{more}"
        )
    return n_val


def _check_network(sizes: Sequence[int], batch: int, compiled: bool) -> int:
    """Refuse a network whose graph would not fit in memory, before building it.

    A layer of ``nout`` neurons over ``nin`` inputs has ``nin*nout + nout`` parameters, and one
    example's pass through it makes about ``2*nin*nout`` nodes (products and sums) and ``3*nout``
    (bias, activation, output): an estimate of the graph, not an exact count.

    Returns:
        The estimated number of nodes of one example's graph.

    Raises:
        CliError: More than :data:`MAX_PARAMETERS` parameters, or more than
            :data:`MAX_GRAPH_NODES` nodes in one update's graph (in one example's with
            ``compiled``).
    """
    pairs = list(itertools.pairwise(sizes))
    parameters = sum(nin * nout + nout for nin, nout in pairs)
    if parameters > MAX_PARAMETERS:
        raise CliError(
            f"--layers: the network would have {parameters:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} this command trains; use smaller layers"
        )
    per_example = sum(2 * nin * nout + 3 * nout for nin, nout in pairs)
    if compiled and per_example > MAX_GRAPH_NODES:
        raise CliError(
            f"--layers: one example's graph would have about {per_example:,} nodes, more than "
            f"the {MAX_GRAPH_NODES:,} --compiled traces; use smaller layers"
        )
    if not compiled and per_example * batch > MAX_GRAPH_NODES:
        raise CliError(
            f"--layers: each update would build a graph of about {per_example * batch:,} nodes "
            f"({per_example:,} per example, {batch:,} examples), more than {MAX_GRAPH_NODES:,}; "
            "use smaller layers, a smaller --batch-size, or --compiled"
        )
    return per_example


class _DivergenceGuard:
    """A :func:`~microgradnn.train.fit` callback that stops at the first non-finite epoch.

    Attributes:
        epochs: Epochs completed so far.
        problem: What stopped being finite (``the loss is nan``), or None.
    """

    def __init__(self) -> None:
        self.epochs = 0
        self.problem: str | None = None

    def on_epoch_end(self, epoch: int, model: Any, history: Any) -> bool:
        """Record the epoch; return True (stop) when its loss or the weights are not finite."""
        self.epochs = epoch + 1
        self.problem = _divergence(model, history.train_loss[-1:], history.val_loss[-1:])
        return self.problem is not None


def _divergence(
    model: Any, losses: Sequence[float | None], val_losses: Sequence[float | None]
) -> str | None:
    """What is not a finite number among the losses and the weights, or None."""
    for what, values in (("the loss", losses), ("the validation loss", val_losses)):
        for value in values:
            if value is not None and not math.isfinite(value):
                return f"{what} is {value}"
    if not all(math.isfinite(p.data) for p in model.parameters()):
        return "the weights are no longer finite numbers"
    return None


def _outputs_diverged(model: Any, X: np.ndarray) -> str | None:
    """Whether the network's outputs on ``X`` are no longer finite numbers (said as text)."""
    from microgradnn.train import predict

    try:
        finite = bool(np.isfinite(predict(model, X)).all())
    except (ValueError, ArithmeticError):
        finite = False
    return None if finite else "the network's outputs are no longer finite numbers"


def _run(config: dict[str, Any], out: str, progress: bool, hint: str) -> int:
    """Train as ``config`` says and write the run into ``out``, whole or not at all."""
    with _RunFolder(out) as folder:
        return _train_into(folder, config, progress, hint)


def _train_into(folder: _RunFolder, config: dict[str, Any], progress: bool, hint: str) -> int:
    from microgradnn.compile import CompileError
    from microgradnn.data import train_test_split
    from microgradnn.nn import MLP
    from microgradnn.optim import LinearLR
    from microgradnn.train import evaluate, fit

    X, labels = _load_data(config["data"], config["n"], config["noise"], config["seed"])
    classes = int(labels.max()) + 1
    row = _loss_row(config["loss"])
    y, nout = row.targets_for(labels, classes)
    val_fraction = float(config.get("val_fraction", 0.0))
    validation = None
    X_train, y_train = X, y
    if val_fraction > 0.0:
        n_val = _split_sizes(val_fraction, len(X), config["data"])
        X_train, X_val, y_train, y_val = train_test_split(
            X, y, test_size=n_val, seed=config["seed"], stratify=y.ndim == 1
        )
        validation = (X_val, y_val)
    sizes = [X.shape[1], *config["layers"], nout]
    batch = (
        len(X_train) if config["batch_size"] is None else min(config["batch_size"], len(X_train))
    )
    nodes = _check_network(sizes, batch, bool(config.get("compiled", False)))
    model = MLP(
        X.shape[1],
        sizes[1:],
        activation=config["activation"],
        output_activation=row.output_activation,
        seed=config["seed"],
    )
    schedule = None
    if config.get("lr_end_factor") is not None:
        end, total = config["lr_end_factor"], config["epochs"]

        def schedule(opt: Any) -> Any:
            return LinearLR(opt, start_factor=1.0, end_factor=end, total_iters=total)

    guard = _DivergenceGuard()
    epochs_done = False
    start = time.perf_counter()
    # Divergence is detected from the numbers themselves; numpy's overflow warnings would only
    # add lines to stderr.
    with np.errstate(all="ignore"):
        try:
            history = fit(
                model,
                X_train,
                y_train,
                loss=config["loss"],
                optimizer=config["optimizer"],
                lr=config["lr"],
                epochs=config["epochs"],
                batch_size=config["batch_size"],
                seed=config["seed"],
                validation_data=validation,
                l2=config["l2"],
                schedule=schedule,
                callbacks=[guard],
                progress=progress,
                compiled=bool(config.get("compiled", False)),
            )
            seconds = time.perf_counter() - start
            epochs_done = True
            if guard.problem is None:
                fitted = evaluate(model, X_train, y_train, loss=config["loss"])
                guard.problem = _divergence(model, [fitted["loss"]], ())
        except CompileError as err:
            raise CliError(f"--compiled: {err}") from None
        except (ValueError, ArithmeticError) as err:
            # A loss refusing nan outputs, or a float overflowing: the numbers tell.
            problem = _divergence(model, (), ()) or _outputs_diverged(model, X_train)
            if problem is None and not isinstance(err, OverflowError):
                raise
            epoch = guard.epochs if epochs_done else guard.epochs + 1
            raise CliError(
                f"training diverged at epoch {epoch}: {problem or 'a number overflowed'}{hint}"
            ) from None
    if guard.problem is not None:
        raise CliError(f"training diverged at epoch {guard.epochs}: {guard.problem}{hint}")

    final: dict[str, Any] = {
        "train_loss": history.train_loss[-1],
        "train_acc": history.train_acc[-1],
    }
    if validation is not None:
        final["val_loss"] = history.val_loss[-1]
        final["val_acc"] = history.val_acc[-1]
    final["final_train_acc"] = fitted["acc"]
    final["final_train_loss"] = fitted["loss"]

    with folder.writing("model.json") as path:
        model.save(path)
    summary = {
        "config": config,
        "parameters": model.num_parameters(),
        "epochs": history.epochs,
        "steps": history.steps,
        "seconds": round(seconds, 3),
        **final,
    }
    with folder.writing("summary.json") as path:
        _write_json(path, summary)
    with folder.writing("history.json") as path:
        _write_json(path, history.to_dict())
    written = ["model.json", "summary.json", "history.json"]
    with np.errstate(all="ignore"):
        written += _write_plots(folder, history, model, X_train, y_train, config["loss"], nodes)
    neuron_note = _write_neuron(folder, model, X_train) if config.get("neuron") else None
    if neuron_note is not None:
        written += list(NEURON_FILES)
    folder.commit()

    acc = fitted["acc"]
    shown = f"accuracy {100 * acc:.1f}%" if acc is not None else "accuracy n/a"
    line = f"{shown}, loss {fitted['loss']:.4g} on the training set"
    if validation is not None and history.val_acc and history.val_acc[-1] is not None:
        line += f"; validation accuracy {100 * history.val_acc[-1]:.1f}%"
    epochs = f"{history.epochs} epoch{'' if history.epochs == 1 else 's'}"
    _say(f"{line} ({epochs}, {seconds:.1f} s)")
    where = _printable(f"{folder.shown}{os.sep}")
    _say(f"wrote {', '.join(written)} into {where}")
    if neuron_note is not None:
        _say(
            f"drew {neuron_note} (neuron_forward.svg, neuron_backward.svg); "
            f"open {where}neuron_steps.html in a browser to step through its backward()"
        )
    if folder.replaced:
        _say(f"replaced the earlier run in {where}")
    return 0


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n", encoding="utf-8")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer | np.floating):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _write_plots(
    folder: _RunFolder,
    history: Any,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    loss: str,
    nodes: int,
) -> list[str]:
    """loss.png and (for 2-D inputs) decision_boundary.png; skipped without matplotlib.

    The decision boundary is drawn over a grid of at most 200 x 200 points, coarser for a
    network whose graph has ``nodes`` nodes per example, so that it holds at most
    :data:`PICTURE_VALUES` values; below 20 x 20 it is left out, with a note.
    """
    from microgradnn.viz.plots import plot_decision_boundary, plot_loss

    resolution = min(200, math.isqrt(PICTURE_VALUES // max(nodes, 1)))
    try:
        figures = [("loss.png", plot_loss(history))]
        if X.shape[1] == 2 and resolution >= 20:
            boundary = plot_decision_boundary(
                model, X, labels_of(y), loss=loss, resolution=resolution
            )
            figures.append(("decision_boundary.png", boundary))
        elif X.shape[1] == 2:
            print("note: no decision boundary picture (the network is too large)", file=sys.stderr)
    except ImportError as err:
        print(f"note: no pictures ({err})", file=sys.stderr)
        return []
    for filename, figure in figures:
        with folder.writing(filename) as path:
            figure.savefig(path, dpi=100, bbox_inches="tight")
    return [filename for filename, _ in figures]


def _write_neuron(folder: _RunFolder, model: Any, X: np.ndarray) -> str | None:
    """One trained first-layer neuron on one training point: forward and backward graph, stepper.

    The neuron and point are the first pair whose weighted sum is positive, so that a ReLU lets
    the gradient through and the backward picture has something to show.

    Returns:
        What was drawn (``neuron L0.N3 on training point 0``), or None with a note on stderr
        when graphviz's ``dot`` is missing.
    """
    from microgradnn.engine import Value
    from microgradnn.viz import draw_dot, render, save_backward_html
    from microgradnn.viz.display import GraphvizNotFoundError

    layer = model.layers[0]
    W = np.array([[w.data for w in n.w] for n in layer.neurons])
    b = np.array([0.0 if n.b is None else n.b.data for n in layer.neurons])
    sums = X[:50] @ W.T + b
    point, index = next(((int(i), int(k)) for i, k in np.argwhere(sums > 0)), (0, 0))
    model.zero_grad()  # the last training step's grads would show as earlier contributions
    inputs = [Value(float(v), label=f"x{j}") for j, v in enumerate(X[point])]
    out = layer.neurons[index](inputs)
    out.label = f"L0.N{index}"
    what = f"neuron L0.N{index} on training point {point}"
    try:
        with folder.writing("neuron_forward.svg") as path:
            render(draw_dot(out, model=model, rankdir="TB"), path)
        out.backward()
        with folder.writing("neuron_backward.svg") as path:
            render(draw_dot(out, "backward", model=model, rankdir="TB"), path)
        with folder.writing("neuron_steps.html") as path:
            save_backward_html(out, path, model=model, rankdir="TB")
    except GraphvizNotFoundError:
        print("note: no neuron pictures (graphviz's dot program is not installed)", file=sys.stderr)
        return None
    return what


@contextmanager
def _writing(path: Path | str) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``path`` into a :class:`CliError` that names it."""
    try:
        yield
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None


def _is_run_file(name: str) -> bool:
    """A file a run writes, or a temporary file an interrupted write of one left behind."""
    return name in RUN_FILES or (
        name.endswith(".tmp") and any(run_file in name for run_file in RUN_FILES)
    )


class _RunFolder:
    """The ``--out`` folder of a run: written beside it, then swapped in whole.

    Made before training, so an ``--out`` that cannot be written fails at once, not after a long
    run. The run's files go into a new hidden folder next to ``--out``; :meth:`commit` renames the
    earlier run aside, renames the new folder in and deletes the earlier run. A run that fails or
    is interrupted before that leaves ``--out`` as it was and removes its own folder, so ``--out``
    never holds one run's model beside another run's pictures. A folder holding files a run does
    not write is refused rather than replaced: nothing the user saved there is lost.

    Attributes:
        shown: ``--out`` as given, for messages.
        target: ``--out`` resolved (through symbolic links).
        replaced: Whether ``--out`` held an earlier run.
    """

    def __init__(self, out: str) -> None:
        self.shown = Path(out)
        if not out or "\x00" in out:
            raise CliError(f"--out: expected a folder name, got {_shown(out)}")
        try:
            self.target = Path(out).resolve()
            cwd = Path.cwd().resolve()
        except (OSError, RuntimeError) as err:  # RuntimeError: a loop of symbolic links
            raise CliError(f"--out {out}: cannot resolve the path ({err})") from None
        if self.target == cwd or self.target in cwd.parents:
            raise CliError(
                f"--out {out} is the current folder or holds it; a run replaces its whole "
                "folder, so name a subfolder such as --out out"
            )
        try:
            entries = os.listdir(self.target) if self.target.is_dir() else None
        except OSError as err:
            raise CliError(f"cannot read --out {out}: {err.strerror or err}") from None
        if entries is None and os.path.lexists(self.target):
            raise CliError(f"--out {out} is a file, not a folder; name a folder")
        foreign = sorted(name for name in entries or () if not _is_run_file(name))
        if foreign:
            listed = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise CliError(
                f"--out {out} holds files a run does not write ({listed}); a run replaces its "
                "whole folder, so name a new or empty folder"
            )
        self.replaced = bool(entries)
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.staging = parent / f".{self.target.name}.{secrets.token_hex(4)}.new"
            self.staging.mkdir()
        except OSError as err:
            reason = "a file is in the way" if isinstance(err, FileExistsError) else err.strerror
            raise CliError(f"cannot write --out {out}: {reason or err}") from None
        self._committed = False

    def __enter__(self) -> _RunFolder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._committed:
            shutil.rmtree(self.staging, ignore_errors=True)

    @contextmanager
    def writing(self, name: str) -> Iterator[Path]:
        """The path to write the run's file ``name`` to; an ``OSError`` names ``--out/name``."""
        with _writing(self.shown / name):
            yield self.staging / name

    def commit(self) -> None:
        """Put the new run in place of ``--out`` (two renames), then delete the earlier run."""
        old = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}.old")
        try:
            if os.path.lexists(self.target):
                os.rename(self.target, old)
                try:
                    os.rename(self.staging, self.target)
                except BaseException:
                    os.rename(old, self.target)
                    raise
            else:
                os.rename(self.staging, self.target)
        except OSError as err:
            raise CliError(f"cannot replace --out {self.shown}: {err.strerror or err}") from None
        self._committed = True
        shutil.rmtree(old, ignore_errors=True)


def _graph(args: argparse.Namespace) -> int:
    status = cli_graph(args)
    return status if isinstance(status, int) else 0


# -- microgradnn graph ----------------------------------------------------------------------------


def parse_assignments(items: Sequence[str] | None) -> dict[str, float]:
    """``["x=2", "w=-3"]`` -> ``{"x": 2.0, "w": -3.0}``, with errors naming the bad item.

    Raises:
        ExpressionError: An item is not ``NAME=NUMBER``, or a name comes twice.
    """
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"--set expects NAME=NUMBER, got {_shown(str(item))}")
        given: object
        try:
            given = float(value)
        except ValueError:
            given = value.strip()  # not a number: the check says what it expected
        try:
            parsed = number(f"--set {name}", given, finite=False)
        except TypeError as err:
            raise ExpressionError(str(err)) from None
        if name in out:
            raise ExpressionError(f"--set gives {name} twice")
        out[name] = parsed
    return out


def add_graph_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``microgradnn graph`` options to ``parser`` (see :func:`cli_graph`)."""
    parser.add_argument(
        "expr",
        help="the expression, e.g. 'tanh(x*w + b)' or 'n = x*w; tanh(n)' (may start with -)",
    )
    parser.add_argument(
        "--set",
        dest="set",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=NUMBER",
        help="values of the variables, e.g. --set x=2 w=-3 b=6.88",
    )
    parser.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        default=None,
        help="picture file (.svg, .png, .pdf, or .dot for the DOT source); "
        "with --view both, NAME-forward.EXT and NAME-backward.EXT; '-' writes the picture to "
        "stdout (the numbers then go to stderr)",
    )
    parser.add_argument(
        "--view",
        choices=_VIEWS,
        default="backward",
        help="forward (values, local derivatives) or backward (chain-rule products); "
        "default backward",
    )
    parser.add_argument(
        "--format",
        choices=("svg", "png", "pdf", "dot"),
        default=None,
        help="picture format (default: from the file name, else svg)",
    )
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="layout direction")
    parser.add_argument(
        "--number-format",
        dest="number_format",
        type=_number_format_type,
        default=".4g",
        help=f"number format (.4g; width and precision at most {MAX_FORMAT_WIDTH})",
    )
    parser.add_argument(
        "--hide-constants",
        dest="hide_constants",
        action="store_true",
        help="fold constants into their op nodes",
    )
    parser.add_argument(
        "--html",
        default=None,
        metavar="FILE",
        help="also write the step-by-step backward page (self-contained HTML)",
    )
    return parser


def _outputs(out: str, view: str, fmt: str | None) -> list[tuple[str, Path, str]]:
    """(view, file, format) for each picture to write."""
    if "\x00" in out:
        raise ValueError(f"--out: expected a file name, got {_shown(out)}")
    path = Path(out)
    fmt = (fmt or path.suffix.lstrip(".") or "svg").lower()
    if fmt == "gv":
        fmt = "dot"
    if not path.suffix:
        path = path.with_suffix("." + fmt)
    if view != "both":
        return [(view, path, fmt)]
    return [
        (v, path.with_name(f"{path.stem}-{v}{path.suffix}"), fmt) for v in ("forward", "backward")
    ]


_DOT_HINT = "draw a smaller expression, or write the DOT source with -o NAME.dot"


def _render_bytes(render: Callable[..., Path], graph: Any, fmt: str) -> bytes:
    """The picture as ``fmt`` bytes, made as :func:`_render` makes a file (same errors)."""
    with tempfile.TemporaryDirectory() as folder:
        return _render(render, graph, Path(folder) / f"picture.{fmt}", fmt).read_bytes()


def _picture_to(stream: TextIO, data: bytes, fmt: str) -> None:
    """Write a picture to ``stream`` (``-o -``): bytes to its buffer, or text for svg and dot."""
    binary = getattr(stream, "buffer", None)
    try:
        if binary is not None:
            stream.flush()
            binary.write(data)
            binary.flush()
        elif fmt in ("svg", "dot"):
            stream.write(data.decode("utf-8"))
        else:
            raise CliError(f"-o -: cannot write {fmt} bytes to this text stream; use -o FILE")
    except BrokenPipeError:
        raise _OutputClosedError from None


def _render(render: Callable[..., Path], graph: Any, path: Path, fmt: str) -> Path:
    """``render(graph, path, fmt)``, with graphviz's own failures as a :class:`CliError`.

    The graphviz package copies what ``dot`` says onto stderr; that goes through only when the
    picture is made (dot's warnings), since a failure's first line is in the error itself.
    """
    said_by_dot = io.StringIO()
    try:
        with redirect_stderr(said_by_dot):
            written = render(graph, path, fmt)
        sys.stderr.write(said_by_dot.getvalue())
        return written
    except BrokenPipeError:
        raise CliError(
            f"graphviz's dot stopped reading the graph (too large for it); {_DOT_HINT}"
        ) from None
    except subprocess.CalledProcessError as err:
        said = err.stderr.decode("utf-8", "replace") if isinstance(err.stderr, bytes) else ""
        first = next((line.strip() for line in said.splitlines() if line.strip()), "")
        reason = f" ({first[:200]})" if first else ""
        raise CliError(f"graphviz's dot could not draw the graph{reason}; {_DOT_HINT}") from None


def cli_graph(args: Any, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """The ``microgradnn graph`` command: parse, run backward(), print grads, draw pictures.

    Reads ``args.expr``, ``args.set`` (``["x=2", ...]``), ``args.out`` (or ``args.output``),
    ``args.view`` (``forward``/``backward``/``both``), ``args.format``, and optionally
    ``rankdir``, ``number_format``, ``hide_constants`` and ``html``.

    Returns:
        0 on success; 2 for a bad expression, values or option; 1 when a picture cannot be made
        (graphviz missing or refusing the graph, a file that cannot be written). Each error is
        one line on ``stderr``.
    """
    from microgradnn.viz.graph import GraphvizNotFoundError, draw_dot, render
    from microgradnn.viz.stepper import save_backward_html

    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr

    def fail(message: str, status: int) -> int:
        print(f"microgradnn graph: error: {_printable(message)}", file=err_stream)
        return status

    try:
        fmt_spec = number_format("--number-format", getattr(args, "number_format", None) or ".4g")
        view = choice("--view", getattr(args, "view", None) or "backward", _VIEWS)
        values = parse_assignments(getattr(args, "set", None))
        root, variables = parse_expression(args.expr, values)
        root.backward()
        out = getattr(args, "out", None) or getattr(args, "output", None)
        piped = out == "-"  # the picture itself goes to stdout, so the numbers go to stderr
        if piped and view == "both":
            raise ValueError(
                "-o -: writes one picture to stdout; choose --view forward or backward"
            )
        info_stream = err_stream if piped else out_stream
        _say(f"{root.label} = {format(root.data, fmt_spec)}", info_stream)
        width = max(len(n) for n in variables)
        for name, v in variables.items():
            _say(
                f"  {name:<{width}} = {format(v.data, fmt_spec):<10}  "
                f"d{root.label}/d{name} = {format(v.grad, fmt_spec)}",
                info_stream,
            )
        written: list[Path] = []

        def picture(view_name: str) -> Any:
            return draw_dot(
                root,
                view_name,
                rankdir=getattr(args, "rankdir", None) or "LR",
                fmt=fmt_spec,
                hide_constants=bool(getattr(args, "hide_constants", False)),
            )

        if piped:
            fmt = (getattr(args, "format", None) or "svg").lower()
            _picture_to(out_stream, _render_bytes(render, picture(view), fmt), fmt)
        elif out:
            for v_name, path, fmt in _outputs(str(out), view, getattr(args, "format", None)):
                with _writing(path):
                    written.append(_render(render, picture(v_name), path, fmt))
        html_path = getattr(args, "html", None)
        if html_path:
            if "\x00" in str(html_path):
                raise ValueError(f"--html: expected a file name, got {_shown(str(html_path))}")
            with _writing(html_path):
                written.append(save_backward_html(root, html_path, fmt=fmt_spec))
        for path in written:
            _say(f"wrote {_printable(str(path))}", info_stream)
        if not out and not html_path:
            _say(
                "(pass -o graph.svg to draw it, --html steps.html to step through backward)",
                out_stream,
            )
    except (GraphvizNotFoundError, CliError) as err:
        return fail(str(err), 1)
    except ExpressionError as err:
        return fail(err.message, 2)  # its position is in the message; the caret needs 3 lines
    except (ValueError, TypeError) as err:
        return fail(str(err), 2)
    return 0
