"""Shared pytest fixtures and settings for the package tests."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded generator for each test (never NumPy's global state)."""
    return np.random.default_rng(12345)
