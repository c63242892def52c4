"""Shared pytest setup: the hypothesis profiles.

``ci`` (the default) is derandomized, so every run tries the same examples and a failure
reproduces bit for bit; ``dev`` explores new random examples on each run and many more of them.
Pick one with ``HYPOTHESIS_PROFILE=dev make test``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
