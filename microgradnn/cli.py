"""The ``microgradnn`` command: ``demo``, ``train`` and ``graph``.

``microgradnn demo`` trains micrograd's classic two-moons network in a few seconds and writes
the model, its history and pictures into ``out/``; ``microgradnn train`` does the same for any
toy data set with the network and optimizer you choose; ``microgradnn graph "EXPR"`` draws the
computation graph of an expression (:func:`add_graph_arguments` and :func:`cli_graph` let
another parser host it). ``python -m microgradnn`` is the same command.

The choices come from the package's tables: losses from :data:`~microgradnn.losses.LOSS_INFO`,
optimizers from :data:`~microgradnn.optim.OPTIMIZERS`, activations from
:data:`~microgradnn.activations.ACTIVATIONS`; a loss's row also says which targets it takes and
how many outputs the network needs.

>>> main(["--version"])
microgradnn ...
0
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N803, N806

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np

from microgradnn._checks import choice, integer, number
from microgradnn.activations import ACTIVATIONS
from microgradnn.losses import LOSS_INFO, Loss, labels_of, loss_info
from microgradnn.optim import OPTIMIZERS
from microgradnn.viz.expr import ExpressionError, parse_expression

__all__ = ["add_graph_arguments", "build_parser", "cli_graph", "main", "parse_assignments"]

T = TypeVar("T")

DATASETS = ("xor", "and", "or", "moons", "circles", "spirals", "blobs", "digits")
_BINARY = frozenset({"xor", "and", "or", "moons", "circles"})
_GATES = frozenset({"xor", "and", "or"})
_TWO_CLASS_TARGETS = frozenset({"signs", "probabilities"})
"""Loss target kinds that hold two classes only (one output: -1/+1, or the probability of 1)."""
_VIEWS = ("forward", "backward", "both")

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


class CliError(Exception):
    """A problem to report as one line on stderr (exit status 1), not as a traceback."""


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
                f"expected hidden layer sizes like 16,16, got {text!r}"
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


# -- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``microgradnn`` argument parser, with its ``demo``, ``train`` and ``graph`` commands."""
    from microgradnn import __version__

    parser = argparse.ArgumentParser(
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
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    demo.add_argument(
        "--epochs", type=_checked(integer, int, low=1), default=DEMO["epochs"], help="default: 100"
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
    )
    train.set_defaults(subparser=train)
    train.add_argument("--data", choices=DATASETS, default="moons", help="default: moons")
    train.add_argument(
        "--n", type=_checked(integer, int, low=4), default=200, help="points to generate (200)"
    )
    train.add_argument(
        "--noise",
        type=_checked(number, float, low=0.0),
        default=None,
        help="data noise (per set)",
    )
    train.add_argument(
        "--layers", type=_layers, default=[16, 16], help="hidden sizes, e.g. 16,16 (default)"
    )
    train.add_argument("--activation", choices=tuple(ACTIVATIONS), default="relu")
    train.add_argument(
        "--loss",
        choices=tuple(LOSS_INFO),
        default=None,
        help="default: hinge for two classes, cross_entropy for more",
    )
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam")
    train.add_argument(
        "--lr",
        type=_checked(number, float, low=0.0, low_open=True),
        default=0.01,
        help="default: 0.01",
    )
    train.add_argument(
        "--epochs",
        type=_checked(integer, int, low=1),
        default=None,
        help="default: 50 (10 for digits)",
    )
    train.add_argument(
        "--batch-size",
        type=_batch_size,
        default=32,
        help="examples per update (default 32); 'all' for gradient descent, 1 for SGD",
    )
    train.add_argument("--seed", type=_checked(integer, int, low=0), default=0)
    train.add_argument("--l2", type=_checked(number, float, low=0.0), default=0.0)
    train.add_argument(
        "--val-fraction",
        type=_checked(number, float, low=0.0, high=1.0, high_open=True),
        default=0.2,
        help="held-out share for validation (default 0.2; none for xor/and/or)",
    )
    train.add_argument("--out", default="out", help="output folder (default: out)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument(
        "--compiled", action="store_true", help="replay the traced graph with numpy (faster)"
    )

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
    """Run the command line; returns the exit status (2 for bad arguments, as argparse)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
        return exit_.code if isinstance(exit_.code, int) else 1
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "train":
            return _train(args, args.subparser)
        return _graph(args)
    except SystemExit as exit_:  # parser.error() for a bad combination of options
        return exit_.code if isinstance(exit_.code, int) else 1
    except CliError as err:
        print(f"microgradnn {args.command}: error: {err}", file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    config = dict(DEMO, epochs=args.epochs, seed=args.seed, compiled=args.compiled)
    print(
        f"two moons: {config['n']} points (noise {config['noise']}), MLP 2-16-16-1 relu, "
        f"hinge loss + L2 {config['l2']:g}, gradient descent with lr 1.0 -> 0.1 over "
        f"{config['epochs']} epochs"
    )
    return _run(config, Path(args.out), progress=not args.no_progress)


def _loss_row(name: str) -> Loss:
    """The loss table's row for a loss name."""
    row = loss_info(name)
    assert row is not None  # a name always has a row
    return row


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    multiclass = args.data not in _BINARY
    loss = args.loss or ("cross_entropy" if multiclass else "hinge")
    if multiclass and _loss_row(loss).targets in _TWO_CLASS_TARGETS:
        others = [r.name for r in LOSS_INFO.values() if r.targets not in _TWO_CLASS_TARGETS]
        parser.error(
            f"--loss {loss} needs two classes; --data {args.data} has more "
            f"(use {' or '.join(others)})"
        )
    epochs = args.epochs if args.epochs is not None else (10 if args.data == "digits" else 50)
    config: dict[str, Any] = {
        "data": args.data,
        "n": args.n,
        "noise": args.noise,
        "layers": args.layers,
        "activation": args.activation,
        "loss": loss,
        "l2": args.l2,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "lr_end_factor": None,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "val_fraction": 0.0 if args.data in _GATES else args.val_fraction,
        "compiled": args.compiled,
    }
    return _run(config, Path(args.out), progress=not args.no_progress)


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
    return makers[name](**kwargs)


def _run(config: dict[str, Any], out_dir: Path, progress: bool) -> int:
    from microgradnn.compile import CompileError
    from microgradnn.data import train_test_split
    from microgradnn.nn import MLP
    from microgradnn.optim import LinearLR
    from microgradnn.train import fit

    X, labels = _load_data(config["data"], config["n"], config["noise"], config["seed"])
    classes = int(labels.max()) + 1
    row = _loss_row(config["loss"])
    y, nout = row.targets_for(labels, classes)
    val_fraction = float(config.get("val_fraction", 0.0))
    validation = None
    X_train, y_train = X, y
    if val_fraction > 0.0:
        X_train, X_val, y_train, y_val = train_test_split(
            X, y, test_size=val_fraction, seed=config["seed"], stratify=y.ndim == 1
        )
        validation = (X_val, y_val)
    model = MLP(
        X.shape[1],
        [*config["layers"], nout],
        activation=config["activation"],
        output_activation=row.output_activation,
        seed=config["seed"],
    )
    schedule = None
    if config.get("lr_end_factor") is not None:
        end, total = config["lr_end_factor"], config["epochs"]

        def schedule(opt: Any) -> Any:
            return LinearLR(opt, start_factor=1.0, end_factor=end, total_iters=total)

    start = time.perf_counter()
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
            progress=progress,
            compiled=bool(config.get("compiled", False)),
        )
    except CompileError as err:
        raise CliError(f"--compiled: {err}") from None
    seconds = time.perf_counter() - start

    final: dict[str, Any] = {
        "train_loss": history.train_loss[-1],
        "train_acc": history.train_acc[-1],
    }
    if validation is not None:
        final["val_loss"] = history.val_loss[-1]
        final["val_acc"] = history.val_acc[-1]
    from microgradnn.train import evaluate

    fitted = evaluate(model, X_train, y_train, loss=config["loss"])
    final["final_train_acc"] = fitted["acc"]
    final["final_train_loss"] = fitted["loss"]

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.json")
    summary = {
        "config": config,
        "parameters": model.num_parameters(),
        "epochs": history.epochs,
        "steps": history.steps,
        "seconds": round(seconds, 3),
        **final,
    }
    _write_json(out_dir / "summary.json", summary)
    _write_json(out_dir / "history.json", history.to_dict())
    written = ["model.json", "summary.json", "history.json"]
    written += _write_plots(out_dir, history, model, X_train, y_train, config["loss"])

    acc = fitted["acc"]
    shown = f"accuracy {100 * acc:.1f}%" if acc is not None else "accuracy n/a"
    line = f"{shown}, loss {fitted['loss']:.4g} on the training set"
    if validation is not None and history.val_acc and history.val_acc[-1] is not None:
        line += f"; validation accuracy {100 * history.val_acc[-1]:.1f}%"
    epochs = f"{history.epochs} epoch{'' if history.epochs == 1 else 's'}"
    print(f"{line} ({epochs}, {seconds:.1f} s)")
    print(f"wrote {', '.join(written)} into {out_dir}{os.sep}")
    return 0


def _write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically: a half-written file never replaces a good one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer | np.floating):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _write_plots(
    out_dir: Path,
    history: Any,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    loss: str,
) -> list[str]:
    """loss.png and (for 2-D inputs) decision_boundary.png; skipped without matplotlib."""
    from microgradnn.viz.plots import plot_decision_boundary, plot_loss

    try:
        figures = [("loss.png", plot_loss(history))]
        if X.shape[1] == 2:
            figures.append(
                (
                    "decision_boundary.png",
                    plot_decision_boundary(model, X, labels_of(y), loss=loss),
                )
            )
    except ImportError as err:
        print(f"note: no pictures ({err})", file=sys.stderr)
        return []
    for filename, figure in figures:
        figure.savefig(out_dir / filename, dpi=100, bbox_inches="tight")
    return [filename for filename, _ in figures]


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
            raise ExpressionError(f"--set expects NAME=NUMBER, got {item!r}")
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
    parser.add_argument("expr", help="the expression, e.g. 'tanh(x*w + b)' or 'n = x*w; tanh(n)'")
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
        "with --view both, NAME-forward.EXT and NAME-backward.EXT",
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
        "--number-format", dest="number_format", default=".4g", help="number format (.4g)"
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


def cli_graph(args: Any, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """The ``microgradnn graph`` command: parse, run backward(), print grads, draw pictures.

    Reads ``args.expr``, ``args.set`` (``["x=2", ...]``), ``args.out`` (or ``args.output``),
    ``args.view`` (``forward``/``backward``/``both``), ``args.format``, and optionally
    ``rankdir``, ``number_format``, ``hide_constants`` and ``html``.

    Returns:
        0 on success, 2 for a bad expression or values, 1 when graphviz is missing.
    """
    from microgradnn.viz.graph import GraphvizNotFoundError, draw_dot, render
    from microgradnn.viz.stepper import save_backward_html

    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    try:
        values = parse_assignments(getattr(args, "set", None))
        root, variables = parse_expression(args.expr, values)
        root.backward()
        fmt_spec = getattr(args, "number_format", None) or ".4g"
        print(f"{root.label} = {format(root.data, fmt_spec)}", file=out_stream)
        width = max(len(n) for n in variables)
        for name, v in variables.items():
            print(
                f"  {name:<{width}} = {format(v.data, fmt_spec):<10}  "
                f"d{root.label}/d{name} = {format(v.grad, fmt_spec)}",
                file=out_stream,
            )
        out = getattr(args, "out", None) or getattr(args, "output", None)
        view = choice("--view", getattr(args, "view", None) or "backward", _VIEWS)
        written: list[Path] = []
        if out:
            for v_name, path, fmt in _outputs(str(out), view, getattr(args, "format", None)):
                graph = draw_dot(
                    root,
                    v_name,
                    rankdir=getattr(args, "rankdir", None) or "LR",
                    fmt=fmt_spec,
                    hide_constants=bool(getattr(args, "hide_constants", False)),
                )
                written.append(render(graph, path, fmt))
        html_path = getattr(args, "html", None)
        if html_path:
            written.append(save_backward_html(root, html_path, fmt=fmt_spec))
        for path in written:
            print(f"wrote {path}", file=out_stream)
        if not out and not html_path:
            print(
                "(pass -o graph.svg to draw it, --html steps.html to step through backward)",
                file=out_stream,
            )
    except GraphvizNotFoundError as err:
        print(f"microgradnn graph: error: {err}", file=err_stream)
        return 1
    except (ValueError, TypeError) as err:
        print(f"microgradnn graph: error: {err}", file=err_stream)
        return 2
    return 0
