import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from rs import Server  # noqa: E402


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def make_server():
    made = []

    def make(**kw):
        s = Server(**kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()
