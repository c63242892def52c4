"""microgradnn: a scalar autograd engine and neural-network library for teaching.

>>> from microgradnn import Value
>>> x = Value(3.0)
>>> y = x * x + 1
>>> y.backward()
>>> x.grad
6.0
"""

from microgradnn import viz
from microgradnn.activations import ACTIVATIONS, INITS, PReLU, get_activation
from microgradnn.compile import CompiledGraph, CompileError, compile_model, trace
from microgradnn.data import (
    batches,
    load_digits,
    make_and,
    make_blobs,
    make_circles,
    make_moons,
    make_or,
    make_regression_1d,
    make_spirals,
    make_xor,
    one_hot,
    piecewise_linear,
    to_pm1,
    train_test_split,
)
from microgradnn.engine import Value, is_grad_enabled, no_grad
from microgradnn.functional import log_softmax, logsumexp, softmax
from microgradnn.gradcheck import (
    BackwardCheck,
    EdgeCheck,
    GradcheckError,
    GradcheckResult,
    check_backward,
    gradcheck,
    numerical_grad,
)
from microgradnn.losses import (
    LOSSES,
    bce_loss,
    bce_with_logits_loss,
    categorical_crossentropy_loss,
    cross_entropy_loss,
    get_loss,
    hinge_loss,
    l2_regularization,
    logistic_loss,
    mse_loss,
)
from microgradnn.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    StepLR,
)
from microgradnn.module import Module
from microgradnn.nn import MLP, Activation, Dense, Dropout, Layer, Neuron, Sequential
from microgradnn.ops import OPS, Op, define_op
from microgradnn.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Optimizer,
    RMSProp,
    RMSprop,
    clip_grad_norm_,
    clip_grad_value_,
    get_optimizer,
)
from microgradnn.serialization import load_model
from microgradnn.train import (
    Callback,
    EarlyStopping,
    History,
    accuracy,
    evaluate,
    fit,
    predict,
)
from microgradnn.value_check import ValueClassCheck, check_value_class
from microgradnn.viz import draw_dot, grade, load_worksheet, worksheet

__version__ = "0.2.0"

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LOSSES",
    "MLP",
    "OPS",
    "OPTIMIZERS",
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "BackwardCheck",
    "Callback",
    "CompileError",
    "CompiledGraph",
    "CosineAnnealingLR",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "EdgeCheck",
    "ExponentialLR",
    "GradcheckError",
    "GradcheckResult",
    "History",
    "LRScheduler",
    "Layer",
    "LinearLR",
    "Module",
    "Neuron",
    "Op",
    "Optimizer",
    "PReLU",
    "RMSProp",
    "RMSprop",
    "Sequential",
    "StepLR",
    "Value",
    "ValueClassCheck",
    "__version__",
    "accuracy",
    "batches",
    "bce_loss",
    "bce_with_logits_loss",
    "categorical_crossentropy_loss",
    "check_backward",
    "check_value_class",
    "clip_grad_norm_",
    "clip_grad_value_",
    "compile_model",
    "cross_entropy_loss",
    "define_op",
    "draw_dot",
    "evaluate",
    "fit",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "gradcheck",
    "grade",
    "hinge_loss",
    "is_grad_enabled",
    "l2_regularization",
    "load_digits",
    "load_model",
    "load_worksheet",
    "log_softmax",
    "logistic_loss",
    "logsumexp",
    "make_and",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_or",
    "make_regression_1d",
    "make_spirals",
    "make_xor",
    "mse_loss",
    "no_grad",
    "numerical_grad",
    "one_hot",
    "piecewise_linear",
    "predict",
    "softmax",
    "to_pm1",
    "trace",
    "train_test_split",
    "viz",
    "worksheet",
]
