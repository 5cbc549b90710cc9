"""The scale tests' stack (tests/scale/stack.py), started once for the whole directory."""

from __future__ import annotations

import pytest

from .stack import Stack, services_problem


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    problem = services_problem()
    if problem:
        pytest.skip(f"needs PostgreSQL and Redis: {problem}")
    made = Stack(tmp_path_factory.mktemp("scale"))
    try:
        made.start()
        yield made
    finally:
        made.stop()
