"""One test per IdP conversation in ``scenarios/``: ``test_<scenario>[sqlite|postgresql]``.

The tests are generated from the files so that a new scenario cannot be forgotten; each
test's docstring is the scenario's ``proves`` paragraph, and a failure names the step.
"""

from __future__ import annotations

from .runner import load
from .runner import replay
from .runner import scenario_names


def _replay_test(name: str):
    def test(client, token):
        replay(name, client, token)

    test.__name__ = f"test_{name}"
    test.__doc__ = load(name)["proves"]
    return test


for _name in scenario_names():
    globals()[f"test_{_name}"] = _replay_test(_name)
