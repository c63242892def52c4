"""Worksheets and grading (microgradnn.viz.worksheet).

Oracles: central differences of the graph's forward rules (the answer key must equal them, box
by box, for leaves and computed Values alike); a simulated student who backpropagates with
local derivatives taken by finite differences of each op alone, with a slip planted at a known
box (the grader must point at that box and give the boxes fed by it follow-through credit);
Python's own math for the drawn numbers; a tampered file whose changed node is known.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import graphviz
import pytest

from microgradnn import MLP, OPS, Neuron, Value
from microgradnn.viz import ExpressionError, GraphvizNotFoundError
from microgradnn.viz.worksheet import (
    ABS_TOL,
    MAX_VALUES,
    REL_TOL,
    Worksheet,
    grade,
    load_worksheet,
    worksheet,
    worksheet_from_json,
)

EXPRESSIONS = [
    "tanh(w1*x1 + w2*x2 + b)",
    "n = w*x + b; o = tanh(n)",
    "y = x*x + 3*x",
    "sigmoid(a*b - c) * 2",
    "exp(x/2) + log(x*x + 1)",
    "relu(w1*x1 + b) + relu(w2*x1 - b)",
    "(a + b)**2 / (c*c + 1)",
    "sum(a*x, b*x, c)",
]


# -- the oracles -----------------------------------------------------------------------------------


def _forward(sheet: Worksheet, override: dict[int, float]) -> float:
    """The output computed with each op's forward rule alone, some nodes' values overridden."""
    values: list[float] = []
    for i, n in enumerate(sheet.nodes):
        if i in override:
            values.append(override[i])
        elif n.op is None:
            values.append(n.data)
        else:
            op = OPS[n.op]
            xs = [values[p] if type(p) is int else p for p in n.inputs]
            values.append(float(op.forward(tuple(xs)) if op.variadic else op.forward(*xs)))
    return values[-1]


def _finite_difference(sheet: Worksheet, i: int, h: float = 1e-6) -> float:
    x = sheet.nodes[i].data
    return (_forward(sheet, {i: x + h}) - _forward(sheet, {i: x - h})) / (2 * h)


def _op_slope(sheet: Worksheet, j: int, k: int, h: float = 1e-6) -> float:
    """d(node j)/d(its input k) by a central difference of node j's op alone."""
    n = sheet.nodes[j]
    op = OPS[n.op]
    xs = [sheet.nodes[p].data if type(p) is int else p for p in n.inputs]

    def f(t: float) -> float:
        ys = list(xs)
        ys[k] = t
        return float(op.forward(tuple(ys)) if op.variadic else op.forward(*ys))

    return (f(xs[k] + h) - f(xs[k] - h)) / (2 * h)


def _student(sheet: Worksheet, slip_at: int | None = None, shift: float = 0.7) -> dict[str, float]:
    """A student's answers: backprop by hand, a slip (+shift) made at box ``slip_at``."""
    n = len(sheet.nodes)
    g = [0.0] * n
    g[-1] = 1.0
    answers: dict[str, float] = {}
    for j in range(n - 1, -1, -1):
        box = sheet.box_of(j)
        if box is not None:
            if box == slip_at:
                g[j] += shift
            answers[sheet.nodes[j].name] = round(g[j], 6)
        for k, p in enumerate(sheet.nodes[j].inputs):
            if type(p) is int:
                g[p] += _op_slope(sheet, j, k) * g[j]
    return answers


def _fed_by(sheet: Worksheet, i: int) -> set[int]:
    """Every node whose grad depends on node i's: i's inputs, their inputs, ..."""
    found: set[int] = set()
    stack = [i]
    while stack:
        for p in sheet.nodes[stack.pop()].inputs:
            if type(p) is int and p not in found:
                found.add(p)
                stack.append(p)
    return found


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABS_TOL + REL_TOL * abs(b)


# -- the answer key ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_answer_key_is_the_finite_difference_of_every_box(text: str, seed: int) -> None:
    sheet = worksheet(text, seed=seed)
    assert sheet.boxes
    for i in sheet.boxes:
        fd = _finite_difference(sheet, i)
        assert sheet.nodes[i].grad == pytest.approx(fd, rel=1e-5, abs=1e-6), sheet.nodes[i].name


@pytest.mark.parametrize(
    "model",
    [Neuron(2, activation="tanh", seed=0), Neuron(3, activation="sigmoid", seed=1), MLP(2, [2, 1])],
)
def test_a_model_sheet_draws_weights_and_an_input_and_its_key_is_the_finite_difference(
    model: object,
) -> None:
    before = [p.data for p in model.parameters()]  # type: ignore[attr-defined]
    sheet = worksheet(model, seed=4)  # type: ignore[arg-type]
    assert [p.data for p in model.parameters()] == before  # type: ignore[attr-defined]
    names = [n.name for n in sheet.nodes if n.op is None]
    assert "x0" in names
    assert any(n.endswith("w0") for n in names)
    kinds = {n.name: n.kind for n in sheet.nodes}
    assert kinds["x0"] == "input"
    assert kinds[names[0]] in ("param", "input")
    for i in sheet.boxes:
        fd = _finite_difference(sheet, i)
        assert sheet.nodes[i].grad == pytest.approx(fd, rel=1e-5, abs=1e-6), sheet.nodes[i].name


def test_the_drawn_values_are_what_python_computes_from_the_drawn_leaves() -> None:
    sheet = worksheet("tanh(w1*x1 + w2*x2 + b)", seed=11)
    v = {n.name: n.data for n in sheet.nodes if n.op is None}
    out = math.tanh(v["w1"] * v["x1"] + v["w2"] * v["x2"] + v["b"])
    assert sheet.nodes[-1].data == pytest.approx(out, rel=1e-12)
    assert sheet.key["b"] == pytest.approx(1 - out**2, rel=1e-12)


def test_drawn_numbers_are_short_nonzero_decimals_in_range() -> None:
    for seed in range(20):
        sheet = worksheet("w*x + b", seed=seed, decimals=1, scale=2.0)
        for n in sheet.nodes:
            if n.op is None:
                assert n.data != 0
                assert -2.0 <= n.data <= 2.0
                assert abs(n.data * 10 - round(n.data * 10)) < 1e-9
    whole = worksheet("w*x + b", seed=3, decimals=0, scale=3.0)
    assert all(float(n.data).is_integer() for n in whole.nodes if n.op is None)


def test_draws_avoid_kinks_and_grads_too_small_to_tell_from_zero() -> None:
    for seed in range(15):
        sheet = worksheet("relu(w*x + b)", seed=seed)
        z = next(n for n in sheet.nodes if n.name == "w*x + b")
        assert abs(z.data) >= 1e-3  # relu's input is off its kink
        # One-sided differences agree: the key is the derivative, not a sub-gradient.
        h = 1e-4
        for i in sheet.boxes:
            x = sheet.nodes[i].data
            left = (_forward(sheet, {i: x}) - _forward(sheet, {i: x - h})) / h
            right = (_forward(sheet, {i: x + h}) - _forward(sheet, {i: x})) / h
            assert left == pytest.approx(right, abs=1e-6)
        assert all(abs(sheet.nodes[i].grad) >= 0.05 for i in sheet.boxes)


def test_same_seed_same_sheet_and_picture_source_another_seed_same_shape() -> None:
    a, b, c = (worksheet(EXPRESSIONS[0], seed=s) for s in (5, 5, 6))
    assert a == b
    assert a.source == b.source
    assert [n.data for n in a.nodes] != [n.data for n in c.nodes]

    def shape(source: str) -> str:
        return re.sub(r"data (= )?-?[\d.e+-]+|seed \d+", "#", source)

    assert shape(a.source) == shape(c.source)
    assert a.source != c.source


def test_a_string_seed_draws_the_same_numbers_in_every_process() -> None:
    code = (
        "from microgradnn.viz.worksheet import worksheet\n"
        "print([n.data for n in worksheet('w*x + b', seed='alice@uni').nodes])"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(h)},
        ).stdout
        for h in (1, 2)
    }
    assert len(outs) == 1
    here = str([n.data for n in worksheet("w*x + b", seed="alice@uni").nodes])
    assert outs == {here + "\n"}
    assert worksheet("w*x + b", seed="bob") != worksheet("w*x + b", seed="alice@uni")


def test_boxes_are_in_backward_order_and_each_needs_only_earlier_boxes() -> None:
    sheet = worksheet("n = w1*x1 + w2*x2 + b; o = tanh(n)", seed=2)
    assert sheet.names[0] == "n"
    for box, i in enumerate(sheet.boxes, start=1):
        for j, _ in sheet.consumers[i]:
            assert j == sheet.root or sheet.box_of(j) < box  # type: ignore[operator]


def test_ask_leaves_or_names() -> None:
    leaves = worksheet("n = w*x + b; o = tanh(n)", seed=1, ask="leaves")
    assert sorted(leaves.names) == ["b", "w", "x"]
    some = worksheet("n = w*x + b; o = tanh(n)", seed=1, ask=["w", "n"])
    assert some.names == ["n", "w"]
    with pytest.raises(ValueError, match=r"'nope'.*they are"):
        worksheet("n = w*x + b; o = tanh(n)", seed=1, ask=["nope"])
    with pytest.raises(ValueError, match="ask: expected one of"):
        worksheet("w*x", seed=1, ask="most")


def test_values_fix_some_leaves_on_every_sheet() -> None:
    sheets = [worksheet("w*x + b", seed=s, values={"x": 1.5}) for s in range(3)]
    assert {next(n.data for n in s.nodes if n.name == "x") for s in sheets} == {1.5}
    with pytest.raises(ValueError, match=r"'y' is not a leaf.*\['w', 'x', 'b'\]"):
        worksheet("w*x + b", seed=1, values={"y": 1.0})


def test_a_value_root_keeps_its_numbers_without_a_seed_and_redraws_with_one() -> None:
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    out = (x * w).tanh()
    own = worksheet(out)
    assert [n.data for n in own.nodes if n.op is None] == [2.0, -3.0]
    assert own.seed is None
    assert own.made_from == "value"
    drawn = worksheet(out, seed=1)
    assert [n.data for n in drawn.nodes if n.op is None] != [2.0, -3.0]
    assert (x.data, w.data, x.grad) == (2.0, -3.0, 0.0)  # the user's graph is untouched
    for i in drawn.boxes:
        assert drawn.nodes[i].grad == pytest.approx(_finite_difference(drawn, i), rel=1e-5)


def test_too_big_a_model_is_refused_naming_the_limit() -> None:
    with pytest.raises(ValueError, match=rf"more than a worksheet's limit of {MAX_VALUES}"):
        worksheet(MLP(3, [4, 1]), seed=0)


def test_bad_sources_and_arguments_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="needs a seed"):
        worksheet("w*x")
    with pytest.raises(TypeError, match="expected an expression"):
        worksheet(3.0)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="syntax error"):
        worksheet("tanh(w*x", seed=1)
    with pytest.raises(ExpressionError, match="no variables"):
        worksheet("2*3", seed=1)
    with pytest.raises(ValueError, match="no worksheet"):
        worksheet("log(-x*x - 1)", seed=1)
    with pytest.raises(TypeError, match="seed"):
        worksheet("w*x", seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one output"):
        worksheet(MLP(2, [2]), seed=1)


# -- grading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_a_right_sheet_rounded_to_two_decimals_gets_full_marks(text: str) -> None:
    sheet = worksheet(text, seed=3)
    answers = {k: round(v, 2) for k, v in _student(sheet).items()}
    result = grade(sheet, answers)
    assert [m.status for m in result.marks] == ["correct"] * len(sheet.boxes)
    assert result.score == result.total == len(sheet.boxes)
    assert result.first_wrong is None


@pytest.mark.parametrize("text", [*EXPRESSIONS, "tanh(L0*x + 1)"])
@pytest.mark.parametrize("seed", [0, 7])
def test_a_planted_slip_is_the_first_wrong_box_and_what_it_feeds_follows_through(
    text: str, seed: int
) -> None:
    sheet = worksheet(text, seed=seed)
    for slip in range(1, len(sheet.boxes) + 1):
        answers = _student(sheet, slip_at=slip)
        result = grade(sheet, answers)
        node = sheet.boxes[slip - 1]
        fed = _fed_by(sheet, node)
        assert result.first_wrong is not None
        assert result.first_wrong.box == slip
        for m in result.marks:
            i = sheet.boxes[m.box - 1]
            if m.box == slip:
                assert m.status == "wrong"
            elif i in fed and not _close(answers[m.name], m.expected):
                assert m.status == "follow-through", (m, slip)
                assert f"box {slip} " in m.note
            else:
                assert m.status == "correct", (m, slip)
        assert result.score == len(sheet.boxes) - 1


def test_follow_through_credit_is_what_the_instructor_sets() -> None:
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    answers = _student(sheet, slip_at=1)  # every box is fed by box 1 (n)
    assert grade(sheet, answers).score == 4.0
    assert grade(sheet, answers, follow_through=0.5).score == 2.0
    assert grade(sheet, answers, follow_through=0).score == 0.0
    with pytest.raises(ValueError, match="follow_through"):
        grade(sheet, answers, follow_through=2)


def test_missing_answers_are_wrong_with_a_note() -> None:
    sheet = worksheet("w*x + b", seed=2)
    answers = _student(sheet)
    del answers["w"]
    answers["b"] = None  # type: ignore[assignment]
    result = grade(sheet, answers)
    marks = result.by_name()
    assert marks["w"].status == marks["b"].status == "missing"
    assert "blank" in marks["w"].note
    assert marks["w"].credit == 0
    assert result.first_wrong is not None
    assert result.first_wrong.name == sheet.names[0]
    assert "first blank grad" in str(result)


def test_the_classic_slips_are_named() -> None:
    sq = worksheet("y = x*x", seed=1)
    x = next(n.data for n in sq.nodes if n.name == "x")
    once = grade(sq, {"x": x}).by_name()["x"]  # one use of x summed instead of two
    assert once.status == "wrong"
    assert "sums 1 of this Value's 2 uses" in once.note
    assert f"should be 1 × {x:g} + 1 × {x:g} = {2 * x:g}" in once.note  # grad(y) × ∂y/∂x, twice
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    right = _student(sheet)
    sign = grade(sheet, {**right, "w": -right["w"]}).by_name()["w"]
    assert "sign is flipped" in sign.note
    x = next(n.data for n in sheet.nodes if n.name == "x")
    local = grade(sheet, {**right, "w": x}).by_name()["w"]  # ∂(w*x)/∂w = x, without grad(w*x)
    assert "local derivative alone" in local.note


def test_the_tolerance_is_absolute_plus_relative() -> None:
    sheet = worksheet("y = 3*x", seed=1)
    (i,) = sheet.boxes
    right = sheet.nodes[i].grad  # 3
    edge = ABS_TOL + REL_TOL * abs(right)
    assert grade(sheet, {"x": right + 0.9 * edge}).score == 1
    assert grade(sheet, {"x": right + 1.1 * edge}).score == 0
    assert grade(sheet, {"x": right + 0.05}, rel_tol=0, abs_tol=0.1).score == 1
    assert grade(sheet, {"x": right + 0.05}, rel_tol=0, abs_tol=0.01).score == 0


def test_answers_as_strings_fractions_and_box_numbers() -> None:
    sheet = worksheet("y = x*w", seed=3, values={"x": 0.25, "w": -0.5})
    by_number = {sheet.names.index("x") + 1: "-1/2", sheet.names.index("w") + 1: " 0.25 "}
    assert grade(sheet, by_number).score == 2
    assert grade(sheet, {"x": "−0.5", "w": "1/4"}).score == 2  # a typographic minus
    assert grade(sheet, {"x": "-5e-1", "w": 0.25}).score == 2
    with pytest.raises(ValueError, match=r"answers\['x'\]: expected a number such as 0.25"):
        grade(sheet, {"x": "half"})
    with pytest.raises(ValueError, match="expected a number"):
        grade(sheet, {"x": "1/0"})
    with pytest.raises(TypeError, match="expected a number or a string"):
        grade(sheet, {"x": True})
    with pytest.raises(ValueError, match="finite"):
        grade(sheet, {"x": math.nan})


def test_unknown_boxes_are_errors_listing_the_sheets_boxes() -> None:
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    listing = "1 'n', 2 'b', 3 'w*x', 4 'x', 5 'w'"
    with pytest.raises(
        ValueError, match=re.escape(f"'w2' is not a box of this worksheet; the boxes are {listing}")
    ):
        grade(sheet, {"w2": 1.0})
    with pytest.raises(ValueError, match="'o' is the output: its grad is given"):
        grade(sheet, {"o": 1.0})
    with pytest.raises(ValueError, match="there is no box 6"):
        grade(sheet, {6: 1.0})
    with pytest.raises(ValueError, match=r"box 5 .* given twice"):
        grade(sheet, {"w": 1.0, 5: 1.0})
    with pytest.raises(TypeError, match="box names"):
        grade(sheet, {1.0: 1.0})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="expected a Worksheet"):
        grade({"n": 1}, {})  # type: ignore[arg-type]
    leaves = worksheet("n = w*x + b; o = tanh(n)", seed=1, ask="leaves")
    with pytest.raises(ValueError, match="does not ask for the grad of 'n'"):
        grade(leaves, {"n": 1.0})


def test_two_values_with_one_name_are_answered_by_number() -> None:
    sheet = worksheet("x*x + x*x", seed=1)
    assert sheet.names.count("x*x") == 2
    with pytest.raises(ValueError, match="answer them by box number"):
        grade(sheet, {"x*x": 1.0})
    answers = {k + 1: sheet.nodes[i].grad for k, i in enumerate(sheet.boxes)}
    assert grade(sheet, answers).score == len(sheet.boxes)


def test_the_report_and_the_plain_data() -> None:
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    result = grade(sheet, _student(sheet, slip_at=3))
    text = str(result)
    assert text.splitlines()[0].startswith("score 4 / 5 (80%): box 3 (w*x) is the first wrong")
    assert len(text.splitlines()) == 6
    data = result.as_dict()
    assert data["first_wrong"] == 3
    assert data["score"] == 4.0
    assert json.loads(json.dumps(data)) == data


# -- without graphviz's dot ------------------------------------------------------------------------


def test_grading_and_loading_need_no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sheet = worksheet(EXPRESSIONS[0], seed=9)
    path = sheet.save(tmp_path / "alice.json")
    answers = _student(sheet, slip_at=2)
    monkeypatch.setenv("PATH", str(tmp_path))

    def no_rendering(*args: object, **kwargs: object) -> None:
        raise AssertionError("grading rendered a picture")

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_rendering)
    monkeypatch.setattr(graphviz.Digraph, "render", no_rendering)
    loaded = load_worksheet(path)
    result = grade(loaded, answers)
    assert result.first_wrong is not None
    assert result.first_wrong.box == 2
    assert loaded.source.startswith("digraph")  # the picture's source needs no dot either


def test_without_dot_the_picture_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = worksheet("w*x", seed=1)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        sheet.html()


# -- files ----------------------------------------------------------------------------------------


def test_save_and_load_give_the_same_sheet_picture_and_marks(tmp_path: Path) -> None:
    for source in (EXPRESSIONS[1], MLP(2, [2, 1]), "sum(a*x, b*x, c)"):
        sheet = worksheet(source, seed="carol", hints=True)  # type: ignore[arg-type]
        loaded = load_worksheet(sheet.save(tmp_path / "s.json"))
        assert loaded == sheet
        assert loaded.source == sheet.source
        answers = _student(sheet, slip_at=1)
        assert grade(loaded, answers).marks == grade(sheet, answers).marks


def test_a_changed_file_is_refused_at_the_node_that_was_changed(tmp_path: Path) -> None:
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    doc = json.loads(sheet.to_json())
    doc["nodes"][2]["data"] += 1.0  # w*x no longer what its inputs give
    with pytest.raises(ValueError, match=r"node 2 \('w\*x'\): the file says data"):
        worksheet_from_json(json.dumps(doc))
    doc = json.loads(sheet.to_json())
    doc["nodes"][0]["grad"] = 9.0  # a forged answer key
    with pytest.raises(ValueError, match=r"node 0 \('w'\): the file says grad \[9.0\]"):
        worksheet_from_json(json.dumps(doc))
    doc = json.loads(sheet.to_json())
    doc["nodes"][2]["op"] = "no_such_op"
    with pytest.raises(ValueError, match="'no_such_op', which is not defined here"):
        worksheet_from_json(json.dumps(doc))
    doc = json.loads(sheet.to_json())
    del doc["boxes"]
    with pytest.raises(ValueError, match=r"missing keys \['boxes'\]"):
        worksheet_from_json(json.dumps(doc))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: not a worksheet: not JSON"):
        load_worksheet(bad)
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a worksheet"):
        load_worksheet(bad)
    text = sheet.to_json().replace('"data": 1.3', '"data": NaN', 1)
    with pytest.raises(ValueError, match="NaN is not allowed"):
        worksheet_from_json(text)


def test_saving_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sheet.json"
    worksheet("w*x", seed=1).save(path)
    before = path.read_text(encoding="utf-8")

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        worksheet("w*x", seed=2).save(path)
    assert path.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.json"]


# -- pictures and the page ------------------------------------------------------------------------


def test_the_blank_sheet_shows_values_and_numbered_boxes_but_no_answer() -> None:
    sheet = worksheet(EXPRESSIONS[0], seed=5)
    src = sheet.source
    for box in range(1, len(sheet.boxes) + 1):
        assert src.count(f"<B>{box}</B></FONT> grad </TD>") == 1
    assert "grad ?" not in src
    assert "grad 1 (given)" in src
    for n in sheet.nodes:
        assert f"data {n.data:.4g}" in src
    assert not re.search(r"grad -?\d", src.replace("grad 1 (given)", ""))
    key = sheet.key_picture().source
    for box, i in enumerate(sheet.boxes, start=1):
        assert f"<B>{box}</B></FONT> grad <FONT COLOR=" in key
        assert f">{sheet.nodes[i].grad:.4g}</FONT>" in key
    edge_label = re.compile(r"-> v\d+op \[label=<")
    assert not edge_label.search(src)
    assert edge_label.search(worksheet(EXPRESSIONS[0], seed=5, hints=True).source)


def test_the_graded_picture_colours_each_box_by_its_mark() -> None:
    sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
    answers = _student(sheet, slip_at=3)
    del answers["b"]
    src = grade(sheet, answers).picture().source
    assert src.count('BGCOLOR="#d3f9d8"') == 1  # n (box 1)
    assert src.count('BGCOLOR="#f1f3f5"') == 1  # b left blank
    assert src.count('BGCOLOR="#ffe3e3"') == 1
    assert "✗ first" in src
    assert src.count('BGCOLOR="#fff3bf"') == 2  # x, w follow through


def test_pictures_render_to_svg_and_png(tmp_path: Path) -> None:
    sheet = worksheet(EXPRESSIONS[0], seed=5)
    svg = sheet.render(tmp_path / "s.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    assert ">9</text>" in svg
    png = sheet.render(tmp_path / "k.png", key=True).read_bytes()
    assert png.startswith(b"\x89PNG")
    bundle = sheet._repr_mimebundle_()
    assert "image/svg+xml" in bundle
    assert "image/png" in bundle


def test_the_page_prints_and_the_blank_one_holds_no_answer(tmp_path: Path) -> None:
    sheet = worksheet(EXPRESSIONS[0], seed=5)
    page = sheet.save_html(tmp_path / "s.html").read_text(encoding="utf-8")
    assert "@media print" in page
    assert "@page { size: portrait; margin: 12mm; }" in page
    assert page.count("<td class=box>") == len(sheet.boxes)
    assert "Name:" in page
    assert page.count("<td class=answer></td>") == len(sheet.boxes)
    key = sheet.html(key=True)
    for i in sheet.boxes:
        assert f"<td class=answer>{sheet.nodes[i].grad:.4g}</td>" in key
    wide = worksheet(EXPRESSIONS[0], seed=5, rankdir="LR").html()
    assert "size: landscape" in wide
