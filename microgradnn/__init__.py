"""microgradnn: a scalar autograd engine and neural-network library for teaching.

>>> from microgradnn import Value
>>> x = Value(3.0)
>>> y = x * x + 1
>>> y.backward()
>>> x.grad
6.0
"""

from microgradnn.engine import Value, is_grad_enabled, no_grad
from microgradnn.gradcheck import GradcheckError, GradcheckResult, gradcheck, numerical_grad
from microgradnn.losses import (
    LOSSES,
    bce_loss,
    bce_with_logits_loss,
    cross_entropy_loss,
    get_loss,
    hinge_loss,
    l2_regularization,
    logistic_loss,
    mse_loss,
)
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
from microgradnn.ops import OPS, Op
from microgradnn.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    Optimizer,
    RMSProp,
    RMSprop,
    StepLR,
    clip_grad_norm_,
    clip_grad_value_,
    get_optimizer,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LOSSES",
    "MLP",
    "OPS",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "Dropout",
    "ExponentialLR",
    "GradcheckError",
    "GradcheckResult",
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
    "StepLR",
    "Value",
    "__version__",
    "bce_loss",
    "bce_with_logits_loss",
    "clip_grad_norm_",
    "clip_grad_value_",
    "cross_entropy_loss",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "gradcheck",
    "hinge_loss",
    "is_grad_enabled",
    "l2_regularization",
    "load_model",
    "log_softmax",
    "logistic_loss",
    "logsumexp",
    "mse_loss",
    "no_grad",
    "numerical_grad",
    "softmax",
]
