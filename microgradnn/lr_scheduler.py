"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: set ``optimizer.lr`` once per epoch.

A schedule computes each epoch's learning rate in closed form from ``base_lr`` (the optimizer's
lr when the schedule was built) and assigns it to ``optimizer.lr``. It needs nothing else from
the optimizer, so any object with a settable ``lr`` will do, and this module sits below
:mod:`microgradnn.optim` (which re-exports these names).

>>> class Holder:  # anything with a settable lr, e.g. an Optimizer
...     lr = 1.0
>>> holder = Holder()
>>> sched = StepLR(holder, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(holder.lr)  # ... train one epoch with this lr ...
...     sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Protocol

from microgradnn import _checks as check

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "StepLR",
]


class _HasLR(Protocol):
    """What a schedule needs from an optimizer: an ``lr`` it can read and assign."""

    lr: float


class LRScheduler(ABC):
    """Base class: sets ``optimizer.lr = lr_at(epoch)``; call :meth:`step` once per epoch.

    As in PyTorch, building a schedule counts as epoch 0 and already sets ``optimizer.lr`` to
    ``lr_at(0)``; the optimizer's lr at that moment is ``base_lr``. The lr is computed in closed
    form from ``base_lr``, so it equals PyTorch's (which updates it multiplicatively) as long as
    nothing else changes ``optimizer.lr``.

    A subclass sets and checks its own settings, then calls ``super().__init__(optimizer)``,
    and implements :meth:`lr_at` and :meth:`hyperparameters`.

    Args:
        optimizer: Any object with a settable ``lr`` (a number >= 0), such as an
            :class:`~microgradnn.optim.Optimizer`.

    Attributes:
        optimizer: The object whose ``lr`` is set.
        base_lr: The optimizer's lr when the schedule was built.
        last_epoch: How many times :meth:`step` has run since construction.

    Raises:
        TypeError: ``optimizer`` has no ``lr`` attribute, or its lr is not a number.
    """

    def __init__(self, optimizer: _HasLR) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(
                f"{type(self).__name__}: expected an optimizer (an object with a settable lr), "
                f"got {check.describe(optimizer)}"
            )
        self.optimizer = optimizer
        self.base_lr = check.number("optimizer.lr", optimizer.lr, low=0.0)
        self.last_epoch = -1
        self._last_lr = self.base_lr
        self.step()

    @abstractmethod
    def lr_at(self, epoch: int) -> float:
        """The learning rate this schedule gives at ``epoch`` (0 = before any step)."""

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """The settings given at construction, by name."""

    def step(self) -> None:
        """Advance one epoch and set ``optimizer.lr`` to that epoch's learning rate."""
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        self.optimizer.lr = self._last_lr

    def get_last_lr(self) -> float:
        """The learning rate set by the latest :meth:`step` (PyTorch returns a list per group)."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """``base_lr``, ``last_epoch`` and the hyper-parameters, JSON-friendly."""
        return {
            "scheduler": type(self).__name__,
            "base_lr": self.base_lr,
            "last_epoch": self.last_epoch,
            "hyperparameters": self.hyperparameters(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`, and set ``optimizer.lr`` to that epoch's rate.

        Setting the lr (which PyTorch leaves to the optimizer's own state) makes the order in
        which the optimizer and the schedule are restored irrelevant.

        Raises:
            TypeError: ``state_dict`` is not a dict, or an entry has the wrong type.
            ValueError: The dict belongs to another schedule type, has other settings, or
                misses or adds entries.
        """
        name = type(self).__name__
        check.keys(
            "state_dict", state_dict, ("scheduler", "base_lr", "last_epoch", "hyperparameters")
        )
        if state_dict["scheduler"] != name:
            raise ValueError(
                f"load_state_dict: expected a {name} state, got {state_dict['scheduler']!r}"
            )
        if state_dict["hyperparameters"] != self.hyperparameters():
            raise ValueError(
                f"load_state_dict: expected settings {self.hyperparameters()}, "
                f"got {state_dict['hyperparameters']}"
            )
        last_epoch = check.integer("last_epoch", state_dict["last_epoch"], low=0)
        base_lr = check.number("base_lr", state_dict["base_lr"], low=0.0)
        self.base_lr, self.last_epoch = base_lr, last_epoch
        self._last_lr = self.lr_at(last_epoch)
        self.optimizer.lr = self._last_lr

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return (
            f"{type(self).__name__}({settings}, base_lr={self.base_lr!r}, "
            f"last_epoch={self.last_epoch}, lr={self._last_lr!r})"
        )


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr_k = base_lr * gamma^floor(k / step_size), as ``torch.optim.lr_scheduler.StepLR``.

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        step_size: Epochs between decays, an integer >= 1.
        gamma: The decay factor, > 0.

    Example:
        >>> from microgradnn import SGD, Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(opt.lr)  # ... train one epoch ...
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: _HasLR, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check.integer("step_size", step_size, low=1)
        self.gamma = check.number("gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr * gamma^floor(epoch / step_size)."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def hyperparameters(self) -> dict[str, Any]:
        """step_size and gamma."""
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr_k = base_lr * gamma^k.

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        gamma: The decay factor per epoch, > 0.

    Example:
        >>> from microgradnn import SGD, Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> opt.lr
        0.25
    """

    def __init__(self, optimizer: _HasLR, gamma: float) -> None:
        self.gamma = check.number("gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr * gamma^epoch."""
        return self.base_lr * self.gamma**epoch

    def hyperparameters(self) -> dict[str, Any]:
        """Gamma."""
        return {"gamma": self.gamma}


class LinearLR(LRScheduler):
    """Change the learning rate linearly from start_factor*base_lr to end_factor*base_lr.

    lr_k = base_lr (start_factor + (end_factor - start_factor) min(k, total_iters) / total_iters),
    as ``torch.optim.lr_scheduler.LinearLR``. The defaults are micrograd's demo schedule,
    lr = 1.0 - 0.9 k / 100 for base_lr = 1 (PyTorch's defaults are 1/3, 1.0 and 5).

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        start_factor: Factor at epoch 0, in (0, 1].
        end_factor: Factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: Epochs the change takes, an integer >= 1.

    Example:
        micrograd's demo: 100 steps, lr = 1.0 - 0.9 k / 100 at step k.

        >>> from microgradnn import SGD, Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
        >>> lrs = []
        >>> for k in range(100):
        ...     lrs.append(opt.lr)  # ... one training step with this lr ...
        ...     sched.step()
        >>> all(abs(lr - (1.0 - 0.9 * k / 100)) < 1e-15 for k, lr in enumerate(lrs))
        True
        >>> round(lrs[-1], 12), round(opt.lr, 12)
        (0.109, 0.1)
    """

    def __init__(
        self,
        optimizer: _HasLR,
        start_factor: float = 1.0,
        end_factor: float = 0.1,
        total_iters: int = 100,
    ) -> None:
        self.start_factor = check.number(
            "start_factor", start_factor, low=0.0, high=1.0, low_open=True
        )
        self.end_factor = check.number("end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = check.integer("total_iters", total_iters, low=1)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr (start + (end - start) min(epoch, total_iters) / total_iters)."""
        progress = min(self.total_iters, epoch) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)

    def hyperparameters(self) -> dict[str, Any]:
        """start_factor, end_factor and total_iters."""
        return {
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
            "total_iters": self.total_iters,
        }


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from base_lr down to eta_min over T_max epochs.

    lr_k = eta_min + (base_lr - eta_min) (1 + cos(pi k / T_max)) / 2, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` (after T_max it climbs back up, with period
    2 T_max: stop at T_max, or pick T_max = the number of epochs).

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        T_max: Epochs from base_lr to eta_min, an integer >= 1.
        eta_min: The lowest learning rate, >= 0.

    Example:
        >>> from microgradnn import SGD, Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=4)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(round(opt.lr, 6))
        ...     sched.step()
        >>> lrs
        [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    def __init__(
        self,
        optimizer: _HasLR,
        T_max: int,  # noqa: N803  (PyTorch's name)
        eta_min: float = 0.0,
    ) -> None:
        self.T_max = check.integer("T_max", T_max, low=1)
        self.eta_min = check.number("eta_min", eta_min, low=0.0)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2."""
        cosine = 1 + math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cosine / 2

    def hyperparameters(self) -> dict[str, Any]:
        """T_max and eta_min."""
        return {"T_max": self.T_max, "eta_min": self.eta_min}
