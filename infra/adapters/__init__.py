"""Adapters over private library code: every use of a name a library does not publish.

Each layer keeps its own (`infra.adapters.tortoise_sqlite`, `schema.adapters.strawberry_graphql`,
`workers.adapters.arq_worker`, `workers.adapters.aiosmtplib_client`,
`gateway.adapters.uvicorn_server`), one module per library, so that the layer contract
holds: infra never imports the transport libraries. Each module has `verify()`, which
checks what it relies on and raises `AdapterBroken` naming itself; tests/test_adapters.py
calls them and adds a behavioural check per adapter (see docs/architecture.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class AdapterBroken(AssertionError):
    """A library upgrade changed something an adapter relies on."""

    def __init__(self, adapter: str, problem: str) -> None:
        super().__init__(f"adapter {adapter}: {problem}")
        self.adapter = adapter


def require_attribute(adapter: str, owner: Any, name: str) -> Any:
    """`owner.name`, or AdapterBroken naming the adapter."""
    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        raise AdapterBroken(adapter, f"{_name(owner)} has no {name!r}") from None


def require_parameters(adapter: str, function: Callable[..., Any], *names: str) -> None:
    """The function takes exactly these parameters (after self), in this order."""
    parameters = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]
    if parameters != list(names):
        raise AdapterBroken(
            adapter, f"{_name(function)}{tuple(parameters)} no longer takes {tuple(names)}"
        )


def _name(thing: Any) -> str:
    return getattr(thing, "__qualname__", None) or type(thing).__qualname__
