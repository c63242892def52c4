# X and Y are the data matrices, as in the math.
# ruff: noqa: N806

import json
import math
import os
import random
import re
import struct
import sys

import numpy as np
import pytest

from microgradnn import nn
from microgradnn.engine import Value
from microgradnn.nn import (
    ACTIVATIONS,
    INITS,
    MLP,
    Dropout,
    Layer,
    Module,
    Neuron,
    PReLU,
    get_activation,
    load_model,
    log_softmax,
    logsumexp,
    softmax,
)

ALL_ACTIVATIONS = [
    "linear",
    "relu",
    "tanh",
    "sigmoid",
    "leaky_relu",
    "prelu",
    "step",
    "sign",
    "hard_sigmoid",
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


# -- a PyTorch oracle built from the weights alone (independent of MLP.to_torch) ----------------


def torch_act(torch, name, h, alpha):
    if name == "linear":
        return h
    if name == "relu":
        return torch.relu(h)
    if name == "tanh":
        return torch.tanh(h)
    if name == "sigmoid":
        return torch.sigmoid(h)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(h, 0.01)
    if name == "prelu":
        return torch.where(h > 0, h, alpha * h)
    if name == "step":
        return torch.where(h > 0, 1.0, torch.where(h < 0, 0.0, 0.5)) + 0.0 * h
    if name == "sign":
        return torch.sign(h)
    if name == "hard_sigmoid":
        return torch.clamp(h + 0.5, 0.0, 1.0)
    raise AssertionError(name)


def torch_mlp(torch, model, hidden, output="linear"):
    """Leaf tensors per layer and a forward function, from the model's numbers."""
    layers = [layer for layer in model.layers if isinstance(layer, Layer)]
    params = []
    for layer in layers:
        w = torch.tensor(
            [[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True
        )
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        alphas = [n.activation.alpha.data for n in layer.neurons if isinstance(n.activation, PReLU)]
        a = torch.tensor(alphas or [0.0], dtype=torch.float64, requires_grad=True)
        params.append((w, b, a))

    def forward(x):
        h = x
        for i, (w, b, a) in enumerate(params):
            h = torch_act(torch, hidden if i < len(params) - 1 else output, h @ w.T + b, a)
        return h

    return params, forward


def torch_grads(params, model):
    """The torch gradient of every parameter, under the model's parameter names."""
    out = {}
    layers = [(i, x) for i, x in enumerate(model.layers) if isinstance(x, Layer)]
    for (index, layer), (w, b, a) in zip(layers, params, strict=True):
        for j, neuron in enumerate(layer.neurons):
            base = f"layers.{index}.neurons.{j}"
            for k in range(len(neuron.w)):
                out[f"{base}.w.{k}"] = w.grad[j, k].item()
            out[f"{base}.b"] = b.grad[j].item()
            if isinstance(neuron.activation, PReLU):
                out[f"{base}.activation.alpha"] = a.grad[j].item()
    return out


def close(a, b, tol=1e-10):
    return abs(a - b) <= tol * (1.0 + abs(b))


# -- Module: names, parameters, modes ---------------------------------------------------------


def test_named_parameters_are_stable_dotted_paths():
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    expected = []
    for j in range(3):
        expected += [f"layers.0.neurons.{j}.w.0", f"layers.0.neurons.{j}.w.1"]
        expected.append(f"layers.0.neurons.{j}.b")
    expected += [f"layers.1.neurons.0.w.{k}" for k in range(3)] + ["layers.1.neurons.0.b"]
    assert names == expected
    assert model.num_parameters() == (2 + 1) * 3 + (3 + 1) * 1
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert names == [name for name, _ in MLP(2, [3, 1], seed=5).named_parameters()]


def test_module_names_set_by_parents():
    model = MLP(2, [3, 2, 1], activation="prelu", seed=0)
    assert model.name == ""
    assert model.layers[1].name == "layers.1"
    assert model.layers[1].neurons[0].name == "layers.1.neurons.0"
    assert model.layers[1].neurons[0].activation.name == "layers.1.neurons.0.activation"
    assert Layer(2, 2).neurons[1].name == "neurons.1"
    assert Neuron(2).name == ""


def test_custom_module_found_by_attribute():
    class Affine(Module):
        def __init__(self):
            self.w = Value(2.0)
            self.b = Value(1.0)
            self._cache = Value(9.0)

    class Net(Module):
        def __init__(self):
            self.scale = Value(3.0)
            self.blocks = [Affine(), Affine()]
            self.again = self.blocks[0]

    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "blocks.0.w", "blocks.0.b", "blocks.1.w", "blocks.1.b"]
    assert net.blocks[1].name == "blocks.1"
    assert [name for name, _ in net.named_modules()] == ["", "blocks.0", "blocks.1"]
    assert repr(net) == "Net()"


def test_zero_grad_sets_floats_to_zero():
    model = MLP(2, [4, 1], seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(type(p.grad) is float and p.grad == 0.0 for p in model.parameters())


def test_train_and_eval_reach_every_module():
    model = MLP(2, [4, 4, 1], activation="prelu", dropout=0.5, seed=0)
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model.layers[1].training


def test_repr():
    assert repr(MLP(2, [16, 16, 1])) == "MLP(2, [16, 16, 1], activation='relu')"
    assert (
        repr(MLP(3, [4, 2], "tanh", "sigmoid", dropout=0.25, bias=False))
        == "MLP(3, [4, 2], activation='tanh', output_activation='sigmoid', dropout=0.25, "
        "bias=False)"
    )
    assert repr(Layer(3, 2, "relu")) == "Layer(3, 2, activation='relu')"
    assert repr(Neuron(3)) == "Neuron(3, activation='linear')"
    assert repr(Dropout(0.5)) == "Dropout(p=0.5)"
    assert repr(PReLU()) == "PReLU(alpha=0.25)"


# -- state_dict -------------------------------------------------------------------------------


def test_state_dict_round_trip_between_models():
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    assert a.state_dict() != b.state_dict()
    result = b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert result.missing_keys == []
    assert result.unexpected_keys == []
    assert list(a.state_dict()) == [name for name, _ in a.named_parameters()]


def test_load_state_dict_strict_names_the_mismatch():
    model = MLP(3, [2, 1], seed=0)
    state = model.state_dict()
    del state["layers.0.neurons.0.w.2"]
    state["extra.w"] = 1.0
    with pytest.raises(
        ValueError, match=r"layers\.0\.neurons\.0\.w\.2 missing; extra\.w unexpected"
    ):
        model.load_state_dict(state)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layers.0.neurons.0.w.2"]
    assert result.unexpected_keys == ["extra.w"]


def test_load_state_dict_bad_value_changes_nothing():
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    state = {name: 0.5 for name in before}
    state["layers.1.neurons.0.b"] = "oops"
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0\.b: expected a number, got str"):
        model.load_state_dict(state)
    assert model.state_dict() == before
    with pytest.raises(TypeError, match="dict of name -> number"):
        model.load_state_dict([1.0, 2.0])


# -- save / load ------------------------------------------------------------------------------


def test_save_load_round_trip_is_bitwise(tmp_path):
    model = MLP(2, [4, 3, 1], activation="prelu", output_activation="sigmoid", seed=0)
    params = model.parameters()
    specials = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, 1 / 3, -2.5e-310]
    for p, x in zip(params, specials, strict=False):
        p.data = x
    path = tmp_path / "model.json"
    model.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "microgradnn"
    assert data["version"] == 1
    assert data["model"]["sizes"] == [4, 3, 1]
    assert repr(0.1 + 0.2) in path.read_text()
    loaded = load_model(path)
    assert type(loaded) is MLP
    assert repr(loaded) == repr(model)
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert [bits(v) for v in loaded.state_dict().values()] == [
        bits(v) for v in model.state_dict().values()
    ]
    other = MLP(2, [4, 3, 1], activation="prelu", output_activation="sigmoid", seed=1)
    other.load(str(path))
    assert [bits(p.data) for p in other.parameters()] == [bits(p.data) for p in params]


def test_save_load_nan_and_inf(tmp_path):
    model = MLP(1, [1], seed=0)
    model.layers[0].neurons[0].w[0].data = math.nan
    model.layers[0].neurons[0].b.data = -math.inf
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert math.isnan(loaded.layers[0].neurons[0].w[0].data)
    assert loaded.layers[0].neurons[0].b.data == -math.inf


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    before = path.read_bytes()

    def disk_full(fd):  # the temporary file holds the new model, not yet renamed over the old
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [3, 1], seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [3, 1], seed=1).save(tmp_path / "new.json")
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_is_atomic_when_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    before = path.read_bytes()

    def fail(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(nn.os, "replace", fail)
    with pytest.raises(PermissionError):
        MLP(2, [3, 1], seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_overwrites_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    model = MLP(2, [3, 1], seed=1)
    model.save(path)
    assert load_model(path).state_dict() == model.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]


def test_load_other_architecture_names_both(tmp_path):
    path = tmp_path / "small.json"
    MLP(2, [4, 1], seed=0).save(path)
    model = MLP(2, [16, 16, 1], seed=0)
    before = model.state_dict()
    expected = (
        "expected MLP(2, [16, 16, 1], activation='relu'), "
        "file has MLP(2, [4, 1], activation='relu')"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        model.load(path)
    assert model.state_dict() == before


def test_load_missing_parameter_names_it(tmp_path):
    path = tmp_path / "m.json"
    MLP(3, [2, 1], seed=0).save(path)
    data = json.loads(path.read_text())
    del data["state"]["layers.0.neurons.0.w.2"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"layers\.0\.neurons\.0\.w\.2 missing"):
        MLP(3, [2, 1], seed=0).load(path)
    with pytest.raises(ValueError, match=r"layers\.0\.neurons\.0\.w\.2 missing"):
        load_model(path)


def test_load_truncated_or_corrupt_file(tmp_path):
    path = tmp_path / "m.json"
    MLP(2, [3, 1], seed=0).save(path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        MLP(2, [3, 1]).load(path)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_model(path)
    path.write_bytes(b"\x80\x81\xff garbage")
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_model(path)
    path.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="not a microgradnn model file"):
        load_model(path)
    path.write_text(json.dumps({"format": "microgradnn", "version": 99}))
    with pytest.raises(ValueError, match="version 99 is not supported"):
        load_model(path)
    path.write_text(json.dumps({"format": "microgradnn", "version": 1, "model": {}, "state": {}}))
    with pytest.raises(ValueError, match="model description is missing"):
        load_model(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nowhere.json")


def test_load_model_refuses_what_it_cannot_rebuild(tmp_path):
    def square(z):
        return z * z

    custom = MLP(2, [2, 1], activation=square, seed=0)
    custom.save(tmp_path / "c.json")
    with pytest.raises(ValueError, match="custom activation"):
        load_model(tmp_path / "c.json")
    again = MLP(2, [2, 1], activation=square, seed=1)
    again.load(tmp_path / "c.json")
    assert again.state_dict() == custom.state_dict()
    Layer(2, 3, seed=0).save(tmp_path / "layer.json")
    with pytest.raises(ValueError, match="holds a Layer"):
        load_model(tmp_path / "layer.json")


def test_load_non_strict_ignores_architecture(tmp_path):
    path = tmp_path / "m.json"
    MLP(2, [3, 1], activation="tanh", seed=0).save(path)
    model = MLP(2, [3, 1], activation="relu", seed=1)
    with pytest.raises(ValueError, match="activation='tanh'"):
        model.load(path)
    model.load(path, strict=False)
    assert model.state_dict() == load_model(path).state_dict()


# -- Neuron, Layer, MLP -------------------------------------------------------------------------


def test_neuron_graph_is_one_sum_node():
    neuron = Neuron(3, activation="tanh", seed=0)
    x = [Value(1.0), Value(-2.0), Value(0.5)]
    a = neuron(x)
    assert a.label == "a"
    assert a._op.name == "tanh"
    (z,) = a._prev
    assert z.label == "z"
    assert z._op.name == "sum"
    assert len(z._prev) == 4
    assert z._prev[-1] is neuron.b
    for product, w, xi in zip(z._prev[:3], neuron.w, x, strict=True):
        assert product._op.name == "mul"
        assert product._prev == (w, xi)
    assert [w.label for w in neuron.w] == ["w0", "w1", "w2"]
    assert neuron.b.label == "b"
    expected = math.tanh(sum(w.data * xi.data for w, xi in zip(neuron.w, x, strict=True)))
    assert a.data == pytest.approx(expected, abs=1e-15)
    linear = Neuron(2, seed=0)([1.0, 2.0])
    assert linear.label == "z"
    assert linear._op.name == "sum"
    no_bias = Neuron(2, bias=False, seed=0)
    assert no_bias.b is None
    assert len(no_bias([1.0, 2.0])._prev) == 2


def test_course_worked_gradient_closed_form():
    neuron = Neuron(3, activation="sigmoid", seed=0)
    x, y = [0.7, -1.2, 2.0], 1.0
    cost = (neuron(x) - y) ** 2
    cost.backward()
    z = sum(w.data * xi for w, xi in zip(neuron.w, x, strict=True)) + neuron.b.data
    s = 1.0 / (1.0 + math.exp(-z))
    for w, xi in zip(neuron.w, x, strict=True):
        assert w.grad == pytest.approx(2 * (s - y) * s * (1 - s) * xi, rel=1e-12)
    assert neuron.b.grad == pytest.approx(2 * (s - y) * s * (1 - s), rel=1e-12)


def test_layer_returns_value_for_one_neuron():
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    out = Layer(2, 3, seed=0)([1.0, 2.0])
    assert isinstance(out, list)
    assert len(out) == 3


def test_one_neuron_layer():
    model = MLP(2, [16, 1, 1], activation="tanh", seed=0)
    out = model([0.5, -1.5])
    assert isinstance(out, Value)
    h = np.array([0.5, -1.5])
    for i, layer in enumerate(model.layers):
        w = np.array([[w.data for w in n.w] for n in layer.neurons])
        b = np.array([n.b.data for n in layer.neurons])
        h = w @ h + b
        if i < 2:
            h = np.tanh(h)
    assert out.data == pytest.approx(h[0], rel=1e-12)
    out.backward()
    assert model.layers[0].neurons[0].w[0].grad != 0.0


def test_input_kinds():
    model = MLP(2, [3, 2], seed=0)
    as_list = [v.data for v in model([1.0, 2.0])]
    assert [v.data for v in model((1.0, 2.0))] == as_list
    assert [v.data for v in model(np.array([1.0, 2.0]))] == as_list
    assert [v.data for v in model(np.array([1, 2]))] == as_list
    assert [v.data for v in model(iter([1, 2]))] == as_list
    xs = [Value(1.0), Value(2.0)]
    out = model(xs)
    out[0].backward()
    assert xs[0].grad != 0.0
    assert isinstance(MLP(1, [1], seed=0)(3.0), Value)


def test_wrong_number_of_inputs():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"^expected 2 inputs, got 3$"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^expected 2 inputs, got 1$"):
        model(np.array([1.0]))
    with pytest.raises(ValueError, match="expected 2 inputs, got a single number"):
        model(1.0)
    with pytest.raises(ValueError, match=r"array of shape \(4, 2\).*\[model\(x\) for x in X\]"):
        model(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"^expected 2 inputs, got 3$"):
        Neuron(2)([1, 2, 3])
    with pytest.raises(ValueError, match=r"^expected 2 inputs, got 3$"):
        Layer(2, 4)([1, 2, 3])


def test_non_number_inputs():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match="input 1: expected a number or a Value, got str"):
        model([1.0, "2"])
    with pytest.raises(TypeError, match="got NoneType"):
        model([None, 1.0])
    with pytest.raises(TypeError, match="list of 2 numbers"):
        model("ab")
    with pytest.raises(TypeError, match="list of 2 numbers"):
        model(None)
    with pytest.raises(TypeError, match="got complex"):
        model([1j, 1.0])


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nin: expected an integer >= 1, got 0"):
        MLP(0, [1])
    with pytest.raises(TypeError, match="nin: expected an integer >= 1, got float"):
        Neuron(2.5)
    with pytest.raises(TypeError, match=r"sizes: expected a list of layer widths"):
        MLP(2, 16)
    with pytest.raises(ValueError, match="at least one layer"):
        MLP(2, [])
    with pytest.raises(ValueError, match=r"sizes\[1\]: expected an integer >= 1, got 0"):
        MLP(2, [3, 0])
    with pytest.raises(ValueError, match="nout: expected an integer >= 1"):
        Layer(2, -1)
    with pytest.raises(ValueError, match=r"activation: expected one of linear, step.*got 'relu6'"):
        MLP(2, [1], activation="relu6")
    with pytest.raises(ValueError, match=r"dropout probability: expected a number in \[0, 1\)"):
        MLP(2, [3, 1], dropout=1.0)
    with pytest.raises(TypeError, match="seed: expected an int"):
        MLP(2, [1], seed="abc")


# -- activations --------------------------------------------------------------------------------


def test_activation_names_match_the_ops():
    z = Value(-0.3)
    expected = {
        "identity": -0.3,
        "linear": -0.3,
        "step": 0.0,
        "sign": -1.0,
        "hard_sigmoid": 0.2,
        "sigmoid": 1 / (1 + math.exp(0.3)),
        "tanh": math.tanh(-0.3),
        "relu": 0.0,
        "leaky_relu": -0.003,
        "prelu": -0.075,
    }
    assert set(ACTIVATIONS) | {"identity"} == set(expected)
    for name, value in expected.items():
        assert get_activation(name)(z).data == pytest.approx(value, abs=1e-15), name
    assert get_activation("ReLU") is Value.relu
    assert get_activation("leaky-relu") is Value.leaky_relu
    assert get_activation("logistic") is Value.sigmoid
    assert isinstance(get_activation("prelu"), PReLU)
    assert get_activation("prelu") is not get_activation("prelu")


def test_get_activation_bad_input():
    with pytest.raises(ValueError, match="activation: expected one of linear, step"):
        get_activation("swish")
    with pytest.raises(TypeError, match="activation: expected a name"):
        get_activation(3)


def test_custom_activation():
    def cube(z):
        return z * z * z

    neuron = Neuron(2, activation=cube, seed=0)
    out = neuron([1.0, 1.0])
    z = neuron.w[0].data + neuron.w[1].data
    assert out.data == pytest.approx(z**3, rel=1e-12)
    assert repr(neuron) == "Neuron(2, activation='custom:test_custom_activation.<locals>.cube')"
    assert repr(Neuron(2, activation=Value.tanh)) == "Neuron(2, activation='tanh')"
    with pytest.raises(TypeError, match="must map a Value to a Value, it returned float"):
        Neuron(2, activation=lambda z: 1.0)


def test_prelu_per_neuron_and_shared():
    per_neuron = Layer(3, 4, activation="prelu", seed=0)
    assert per_neuron.num_parameters() == 3 * 4 + 4 + 4
    assert all(n.activation.alpha.data == 0.25 for n in per_neuron.neurons)
    shared = PReLU(0.1)
    layer = Layer(3, 4, activation=shared, seed=0)
    assert layer.num_parameters() == 3 * 4 + 4 + 1
    assert layer.named_parameters()[0] == ("activation.alpha", shared.alpha)
    for out in layer([-1.0, -2.0, -3.0]):
        out.backward()
    with pytest.raises(TypeError, match="PReLU init: expected a finite number"):
        PReLU("0.25")


def test_prelu_slope_gradient_against_finite_differences():
    model = MLP(2, [3, 1], activation="prelu", seed=3)
    x = [-1.0, 0.4]
    for neuron in model.layers[0].neurons[:2]:
        neuron.b.data = -5.0  # z < 0: the slope matters

    def f():
        return model(x).data

    model(x).backward()
    eps = 1e-6
    checked = 0
    for neuron in model.layers[0].neurons:
        alpha = neuron.activation.alpha
        alpha.data += eps
        hi = f()
        alpha.data -= 2 * eps
        lo = f()
        alpha.data += eps
        assert alpha.grad == pytest.approx((hi - lo) / (2 * eps), abs=1e-8)
        checked += alpha.grad != 0.0
    assert checked > 0


@pytest.mark.torch
def test_prelu_slope_gradient_against_torch(torch):
    for z0 in (-2.0, 3.0, -0.5):
        z, alpha = Value(z0), Value(0.25)
        out = z.prelu(alpha) * 1.5
        out.backward()
        tz = torch.tensor([z0], dtype=torch.float64, requires_grad=True)
        module = torch.nn.PReLU(dtype=torch.float64)
        (module(tz) * 1.5).sum().backward()
        assert alpha.grad == module.weight.grad.item()
        assert z.grad == tz.grad.item()


# -- softmax, log_softmax, logsumexp ------------------------------------------------------------


def test_softmax_of_two_is_sigmoid():
    for x in (-30.0, -2.0, 0.0, 0.7, 5.0, 40.0):
        p0, p1 = softmax([Value(x), Value(0.0)])
        s = Value(x).sigmoid().data
        assert p0.data == pytest.approx(s, rel=1e-14, abs=1e-300)
        assert p1.data == pytest.approx(1 - s, rel=1e-12, abs=1e-15)


def test_softmax_stable_and_edge_cases():
    probs = softmax([1000, 1000, -1000])
    assert [p.data for p in probs] == pytest.approx([0.5, 0.5, 0.0])
    assert logsumexp([Value(-math.inf), Value(-math.inf)]).data == -math.inf
    assert logsumexp([Value(math.inf), Value(0.0)]).data == math.inf
    assert logsumexp([1000.0, 1000.0]).data == pytest.approx(1000 + math.log(2), rel=1e-15)
    with pytest.raises(ValueError, match="at least one value"):
        softmax([])
    with pytest.raises(TypeError, match="expected a list"):
        logsumexp(Value(1.0))
    with pytest.raises(TypeError, match="item 1: expected a Value or a number, got str"):
        log_softmax([Value(1.0), "x"])


@pytest.mark.torch
def test_softmax_family_against_torch(torch):
    rng = random.Random(0)
    data = [rng.uniform(-3, 3) for _ in range(5)] + [900.0]
    weights = [rng.uniform(-1, 1) for _ in data]
    for ours, theirs in (
        (softmax, lambda t: torch.softmax(t, 0)),
        (log_softmax, lambda t: torch.log_softmax(t, 0)),
        (lambda v: [logsumexp(v)], lambda t: torch.logsumexp(t, 0, keepdim=True)),
    ):
        xs = [Value(x) for x in data]
        out = ours(xs)
        Value.sum([o * w for o, w in zip(out, weights, strict=False)]).backward()
        t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
        tout = theirs(t)
        (tout * torch.tensor(weights[: len(tout)], dtype=torch.float64)).sum().backward()
        for o, to in zip(out, tout.detach().tolist(), strict=True):
            assert close(o.data, to, 1e-13)
        for x, g in zip(xs, t.grad.tolist(), strict=True):
            assert close(x.grad, g, 1e-13)


# -- initialization -----------------------------------------------------------------------------


def weights(module):
    return [p.data for name, p in module.named_parameters() if ".w." in f".{name}"]


def test_same_seed_same_weights():
    a = MLP(3, [8, 4, 2], seed=7)
    b = MLP(3, [8, 4, 2], seed=7)
    assert [bits(v) for v in a.state_dict().values()] == [bits(v) for v in b.state_dict().values()]
    assert a.state_dict() != MLP(3, [8, 4, 2], seed=8).state_dict()
    c = MLP(3, [8, 4, 2], seed=random.Random(7))
    assert c.state_dict() == a.state_dict()
    random.seed(11)
    d = MLP(3, [8, 4, 2])
    random.seed(11)
    assert MLP(3, [8, 4, 2]).state_dict() == d.state_dict()


def test_uniform_init_draws_micrograds_weights():
    random.seed(1337)
    model = MLP(2, [16, 16, 1], init="uniform")
    random.seed(1337)
    expected = []
    for nin, nout in ((2, 16), (16, 16), (16, 1)):
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert list(model.state_dict().values()) == expected


@pytest.mark.parametrize("init", list(INITS))
def test_init_weights_are_not_all_equal(init):
    layer = Layer(5, 5, init=init, seed=0)
    assert len(set(weights(layer))) == 25


def test_init_distributions():
    fan_in, fan_out = 400, 100
    xavier = Layer(fan_in, fan_out, init="xavier", seed=0)
    bound = math.sqrt(6 / (fan_in + fan_out))
    w = np.array(weights(xavier))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert all(n.b.data == 0.0 for n in xavier.neurons)
    he = np.array(weights(Layer(fan_in, fan_out, init="he", seed=0)))
    assert he.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)
    assert abs(he.mean()) < 0.005
    uniform = np.array(weights(Layer(fan_in, fan_out, init="uniform", seed=0)))
    assert np.abs(uniform).max() <= 1.0
    assert uniform.std() == pytest.approx(3**-0.5, rel=0.03)
    torch_like = Layer(fan_in, fan_out, init="torch", seed=0)
    r = 1 / math.sqrt(fan_in)
    assert np.abs(weights(torch_like)).max() <= r
    biases = [n.b.data for n in torch_like.neurons]
    assert max(map(abs, biases)) <= r
    assert len(set(biases)) == fan_out


def test_auto_init_follows_activation():
    for activation, init in (("relu", "he"), ("tanh", "xavier"), ("linear", "uniform")):
        auto = MLP(3, [4, 1], activation=activation, seed=2)
        assert auto.init == init
        assert auto.state_dict() == MLP(3, [4, 1], activation, init=init, seed=2).state_dict()
    assert MLP(2, [1], init="glorot").init == "xavier"


def test_unknown_init_lists_choices():
    with pytest.raises(ValueError, match="init: expected one of uniform, xavier, he, torch"):
        MLP(2, [1], init="zeros")
    with pytest.raises(TypeError, match="init: expected a name"):
        Neuron(2, init=0.5)


# -- dropout ------------------------------------------------------------------------------------


def test_dropout_train_scales_and_drops():
    drop = Dropout(0.3, seed=0)
    xs = [Value(1.0) for _ in range(20000)]
    out = drop(xs)
    kept = [o.data for o in out if o.data != 0.0]
    assert set(kept) == {1.0 / 0.7}
    assert 1 - len(kept) / len(xs) == pytest.approx(0.3, abs=0.015)
    Value.sum(out).backward()
    assert {x.grad for x in xs} == {0.0, 1.0 / 0.7}
    assert all((x.grad == 0.0) == (o.data == 0.0) for x, o in zip(xs, out, strict=True))


def test_dropout_eval_passes_through_and_seed_repeats():
    xs = [Value(float(i)) for i in range(50)]
    assert Dropout(0.5, seed=1).eval()(xs) == xs
    assert Dropout(0.0, seed=1)(xs) == xs
    first = [o.data for o in Dropout(0.5, seed=4)(xs)]
    assert first == [o.data for o in Dropout(0.5, seed=4)(xs)]
    assert first != [o.data for o in Dropout(0.5, seed=5)(xs)]


def test_dropout_bad_p():
    for p in (-0.1, 1.0, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"expected a number in \[0, 1\)"):
            Dropout(p)
    with pytest.raises(TypeError, match=r"expected a number in \[0, 1\), got str '0.5'"):
        Dropout("0.5")
    with pytest.raises(TypeError, match="expected a list of Values"):
        Dropout(0.5)(Value(1.0))


def test_mlp_dropout_layers():
    model = MLP(2, [8, 8, 1], dropout=0.5, seed=3)
    assert [type(x).__name__ for x in model.layers] == [
        "Layer",
        "Dropout",
        "Layer",
        "Dropout",
        "Layer",
    ]
    plain = MLP(2, [8, 8, 1], seed=3)
    dense = [x for x in model.layers if isinstance(x, Layer)]
    assert [weights(a) for a in dense] == [weights(b) for b in plain.layers]
    x = [0.3, -0.8]
    model.eval()
    assert model(x).data == plain(x).data
    model.train()
    outs = {model(x).data for _ in range(20)}
    assert len(outs) > 1


def test_mlp_dropout_is_reproducible():
    x = [0.3, -0.8]
    runs = []
    for _ in range(2):
        model = MLP(2, [8, 8, 1], dropout=0.5, seed=3)
        runs.append([model(x).data for _ in range(10)])
    assert runs[0] == runs[1]


# -- gradients against PyTorch ------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_mlp_gradients_match_torch(torch, activation):
    output = "sigmoid" if activation == "tanh" else "linear"
    model = MLP(3, [5, 4, 2], activation=activation, output_activation=output, init="torch", seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    Y = rng.normal(size=(6, 2))
    outs = [model(x) for x in X]
    terms = [
        (o - t) ** 2 for row, ys in zip(outs, Y, strict=True) for o, t in zip(row, ys, strict=True)
    ]
    loss = Value.sum(terms) / len(terms)
    model.zero_grad()
    loss.backward()

    params, forward = torch_mlp(torch, model, activation, output)
    tout = forward(torch.tensor(X))
    tloss = ((tout - torch.tensor(Y)) ** 2).mean()
    tloss.backward()
    assert close(loss.data, tloss.item(), 1e-12)
    expected = torch_grads(params, model)
    grads = dict((name, p.grad) for name, p in model.named_parameters())
    assert set(grads) == set(expected)
    for name, g in grads.items():
        assert close(g, expected[name]), (name, g, expected[name])
    if activation not in ("step", "sign"):
        assert any(g != 0.0 for g in grads.values())


# -- PyTorch conversion -------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_to_torch_same_outputs(torch, activation):
    model = MLP(3, [6, 5, 2], activation=activation, output_activation="tanh", seed=4)
    for neuron in model.layers[0].neurons:
        if isinstance(neuron.activation, PReLU):
            neuron.activation.alpha.data = random.Random(id(neuron) % 97).uniform(0, 0.5)
    seq = model.to_torch()
    assert all(p.dtype == torch.float64 for p in seq.parameters())
    X = np.random.default_rng(1).normal(size=(10, 3))
    ours = np.array([[v.data for v in model(x)] for x in X])
    theirs = seq(torch.tensor(X)).detach().numpy()
    assert np.abs(ours - theirs).max() <= 1e-12
    back = MLP.from_torch(seq)
    assert repr(back) == repr(model)
    assert back.state_dict() == model.state_dict()


@pytest.mark.torch
def test_to_torch_prelu_modules_and_modes(torch):
    model = MLP(2, [3, 2, 1], activation="prelu", dropout=0.2, seed=0).eval()
    seq = model.to_torch()
    prelus = [m for m in seq if isinstance(m, torch.nn.PReLU)]
    assert [m.num_parameters for m in prelus] == [3, 2]
    assert [type(m).__name__ for m in seq].count("Dropout") == 2
    assert not seq.training
    shared = PReLU(0.1)
    model = MLP(2, [3, 3, 1], activation=shared, seed=0)
    seq = model.to_torch()
    prelus = [m for m in seq if isinstance(m, torch.nn.PReLU)]
    assert len(prelus) == 2
    assert prelus[0] is prelus[1]
    assert prelus[0].num_parameters == 1
    assert prelus[0].weight.item() == 0.1


@pytest.mark.torch
def test_from_torch_model_with_torch_weights(torch):
    torch.manual_seed(0)
    seq = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 3),
    ).double()
    model = MLP.from_torch(seq)
    assert repr(model) == "MLP(4, [8, 8, 3], activation='tanh')"
    X = np.random.default_rng(2).normal(size=(7, 4))
    ours = np.array([[v.data for v in model(x)] for x in X])
    assert np.abs(ours - seq(torch.tensor(X)).detach().numpy()).max() <= 1e-12


@pytest.mark.torch
def test_from_torch_shared_prelu_becomes_per_neuron(torch):
    seq = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.PReLU(init=0.3), torch.nn.Linear(4, 1)
    ).double()
    model = MLP.from_torch(seq)
    alphas = [n.activation.alpha.data for n in model.layers[0].neurons]
    assert alphas == [pytest.approx(0.3)] * 4
    assert len({id(n.activation.alpha) for n in model.layers[0].neurons}) == 4
    X = np.random.default_rng(3).normal(size=(9, 2))
    ours = np.array([model(x).data for x in X])
    assert np.abs(ours - seq(torch.tensor(X)).detach().numpy()[:, 0]).max() <= 1e-12


@pytest.mark.torch
def test_from_torch_rejects_what_an_mlp_cannot_hold(torch):
    nn_ = torch.nn
    cases = [
        (nn_.Sequential(nn_.Conv1d(1, 1, 1)), "expects a torch.nn.Linear first"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.GELU(), nn_.Linear(3, 1)), "does not know GELU"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.Linear(4, 1)), "layer 1 takes 4 inputs"),
        (
            nn_.Sequential(
                nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 3), nn_.Tanh(), nn_.Linear(3, 1)
            ),
            "relu after layer 0, tanh after layer 1",
        ),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.LeakyReLU(0.2), nn_.Linear(3, 1)), "slope 0.2"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.Dropout(0.5)), "no dropout after its output"),
        (nn_.Sequential(nn_.Linear(2, 3, bias=False), nn_.Linear(3, 1)), "biases in every"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Tanh()), "then one activation"),
        (nn_.Sequential(), "no torch.nn.Linear"),
    ]
    for seq, message in cases:
        with pytest.raises(ValueError, match=message):
            MLP.from_torch(seq)
    with pytest.raises(TypeError, match=r"expected a torch\.nn\.Sequential"):
        MLP.from_torch([1, 2])


@pytest.mark.torch
def test_to_torch_custom_activation_has_no_equivalent(torch):
    model = MLP(2, [3, 1], activation=lambda z: z * z, seed=0)
    with pytest.raises(ValueError, match=r"layers\.0: activation 'custom:.*' has no PyTorch"):
        model.to_torch()


def test_torch_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'microgradnn\[torch\]'"):
        MLP(2, [1]).to_torch()
    with pytest.raises(ImportError, match=r"pip install 'microgradnn\[torch\]'"):
        MLP.from_torch(object())


@pytest.mark.parametrize("sizes", [[3], [3, 1]])
def test_a_bad_activation_is_refused_at_once_even_where_no_layer_uses_it(sizes):
    with pytest.raises(TypeError, match=r"activation: expected a name .* got int 5"):
        MLP(2, sizes, activation=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"activation: expected a name .* got float 3\.5"):
        MLP(2, sizes, output_activation=3.5)  # type: ignore[arg-type]


def test_micrograd_nonlin_spelling_is_accepted():
    """micrograd's Neuron(nin, nonlin=True) is a ReLU neuron, nonlin=False a linear one."""
    x = [1.0, -2.0, 0.5]
    relu = Neuron(3, nonlin=True, seed=0)
    z = sum(w.data * xi for w, xi in zip(relu.w, x, strict=True)) + relu.b.data
    assert relu.activation_name == "relu"
    assert relu(x).data == max(z, 0.0)
    assert Neuron(3, nonlin=False, seed=0).activation_name == "linear"
    layer = Layer(3, 2, nonlin=True, seed=0)
    assert [n.activation_name for n in layer.neurons] == ["relu", "relu"]
    assert Layer(3, 2, nonlin=False, seed=0).neurons[0].activation_name == "linear"
    with pytest.raises(ValueError, match=r"either activation .* or micrograd's nonlin"):
        Neuron(3, activation="tanh", nonlin=True)
    with pytest.raises(TypeError, match="nonlin"):
        Layer(3, 2, nonlin="yes")
