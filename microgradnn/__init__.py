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
from microgradnn.ops import OPS, Op

__version__ = "0.1.0"

__all__ = [
    "OPS",
    "GradcheckError",
    "GradcheckResult",
    "Op",
    "Value",
    "__version__",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "numerical_grad",
]
