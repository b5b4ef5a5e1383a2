"""The wiring lists every controller: one defined in an ``api.py`` but left out of the list would never be served."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from litestar import Controller

import cloudstore
from cloudstore import wiring

PACKAGE = Path(cloudstore.__file__).resolve().parent


def _defined_controllers() -> set[type[Controller]]:
    """Public controller classes of every ``api.py`` (a ``_Base`` is shared by others, not served itself)."""
    found: set[type[Controller]] = set()
    for path in sorted(PACKAGE.rglob("api.py")):
        name = ".".join(("cloudstore", *path.relative_to(PACKAGE).with_suffix("").parts))
        module = importlib.import_module(name)
        found.update(
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Controller)
            and value.__module__ == name
            and not value.__name__.startswith("_")
        )
    return found


def test_every_controller_in_an_api_module_is_wired() -> None:
    defined = _defined_controllers()
    assert len(defined) >= 29
    missing = sorted(c.__qualname__ for c in defined - set(wiring.CONTROLLERS))
    assert missing == []


def test_each_controller_is_wired_once() -> None:
    assert len(wiring.CONTROLLERS) == len(set(wiring.CONTROLLERS))
