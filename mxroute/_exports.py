"""Public names report the module users import them from."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any


def adopt(namespace: dict[str, Any], names: Iterable[str]) -> None:
    """Make each public class and function of *namespace* say it lives there.

    The implementation modules are private (``mxroute._router`` and so on), so
    reprs, tracebacks, pickles and the API reference name ``mxroute.Router``,
    the spelling users import, rather than a module they must not.
    """
    module = namespace["__name__"]
    for name in names:
        obj = namespace[name]
        if is_class_or_function(obj) and obj.__module__.startswith("mxroute._"):
            obj.__module__ = module


def is_class_or_function(obj: object) -> bool:
    """Whether *obj* is a class or function, not a typing alias such as ``tuple[...]``.

    Python 3.10's :func:`inspect.isclass` says such an alias is a class.
    """
    return not hasattr(obj, "__origin__") and (inspect.isclass(obj) or inspect.isfunction(obj))
