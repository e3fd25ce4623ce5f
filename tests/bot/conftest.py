"""Fixtures for the conversation engine's tests."""

from __future__ import annotations

import pytest

from tests.bot.chat import Chat


@pytest.fixture
def chat() -> Chat:
    """A witness who has not written yet, with no language hint."""
    return Chat()
