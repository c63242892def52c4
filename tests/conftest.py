"""Shared pytest setup: the hypothesis profiles, and xdist groups for shared fixtures.

``ci`` (the default) is derandomized, so every run tries the same examples and a failure
reproduces bit for bit; ``dev`` explores new random examples on each run and many more of them.
Pick one with ``HYPOTHESIS_PROFILE=dev make test``.
"""

from __future__ import annotations

import os

import pytest
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


# A module whose tests share one expensive module-scoped fixture (a notebook executed once,
# a JupyterLab server) runs on one xdist worker (`-n 2 --dist loadgroup`): spread over both,
# each worker would build the fixture again.
SHARED_FIXTURE_MODULES = ("test_lessons_", "test_jupyterlab")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each module with a shared expensive fixture in one xdist group."""
    for item in items:
        name = item.path.stem
        if name.startswith(SHARED_FIXTURE_MODULES):
            item.add_marker(pytest.mark.xdist_group(name))
