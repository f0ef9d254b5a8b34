"""Public names load on first use and report the module users import them from.

``mxroute/__init__.py`` maps each public name to the private module that
defines it (its ``_PUBLIC`` table) and imports none of them:
:func:`lazy` gives it a module ``__getattr__`` (PEP 562) that imports the
module on first access, so ``import mxroute`` stays cheap and a program pays
only for what it uses. Each private module that defines public classes or
functions ends with ``publish(globals())``, which makes them name ``mxroute``
as their module (for reprs, tracebacks, pickles and the API reference) as
soon as that module loads, whichever way it was reached.

This module imports nothing beyond the standard library's built-ins: it is
loaded by ``import mxroute`` itself.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

PACKAGE = "mxroute"


def lazy(
    namespace: dict[str, Any], table: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that load each name of *table* on first use.

    Args:
        namespace: the package's globals; each name loaded is stored there, so
            the next access is an ordinary attribute lookup.
        table: each public name and the module that defines it.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        try:
            module = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        __import__(module)
        value = getattr(sys.modules[module], name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__


def publish(namespace: dict[str, Any]) -> None:
    """Make the public classes and functions defined in *namespace* name ``mxroute``.

    Called at the end of each private module with its ``globals()``; the
    names are those that ``mxroute``'s ``_PUBLIC`` table maps to this module.
    """
    module = namespace["__name__"]
    table: dict[str, str] = sys.modules[PACKAGE].__dict__["_PUBLIC"]
    for name, home in table.items():
        if home == module:
            adopt_one(namespace[name], PACKAGE)


def adopt(namespace: dict[str, Any], names: Iterable[str]) -> None:
    """Make each public class and function of *namespace* say it lives there.

    The implementation modules are private (``mxroute._router`` and so on), so
    reprs, tracebacks, pickles and the API reference name ``mxroute.Router``,
    the spelling users import, rather than a module they must not.
    """
    module = namespace["__name__"]
    for name in names:
        adopt_one(namespace[name], module)


def adopt_one(obj: object, module: str) -> None:
    """Make *obj*, if it is a class or function of a private module, name *module*."""
    if is_class_or_function(obj) and obj.__module__.startswith("mxroute._"):
        obj.__module__ = module


def is_class_or_function(obj: object) -> bool:
    """Whether *obj* is a class or function, not a typing alias such as ``tuple[...]``.

    Python 3.10's :func:`inspect.isclass` says such an alias is a class.
    """
    return not hasattr(obj, "__origin__") and isinstance(obj, (type, _Function))


_Function = type(is_class_or_function)
