"""What a process does for itself: a package's names imported on first use, and the
cyclic garbage collector kept off work that makes many long-lived objects."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A package's module `__getattr__` (PEP 562): each name of `where` is imported from
    its module (relative to `package`) on first use, then kept. Any other name raises
    AttributeError, which is what lets `from package import submodule` find a submodule."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(module, name, value)
        return value

    return __getattr__


@contextmanager
def gc_paused(freeze: bool = False, sweep: bool = True) -> Iterator[None]:
    """No cyclic garbage collection inside (objects still die by reference count). With
    `freeze`, the collector then looks once at what was made (`gc.collect(0)`: while it
    is off, every new object stays in the youngest generation) and puts what is left out
    of its reach for good (`gc.freeze`; `gc.unfreeze` gives it back). `sweep=False` skips
    that look (a walk over every object made inside): for what is known to live until
    the process ends, such as imported modules, whose few cycles then stay too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            if sweep:
                gc.collect(0)
            gc.freeze()
        if enabled:
            gc.enable()


def trim_heap() -> None:
    """Give the C allocator's free pages back to the system (glibc's `malloc_trim`; a
    no-op elsewhere). A batch's worker calls it after each chunk: what a chunk freed
    otherwise stays in the process: ~25 MB more per worker after 60 chunks of the 1M-line
    benchmark file, for no CPU time that showed in the same measurement."""
    import ctypes

    with suppress(OSError, AttributeError):  # the process's own symbols: no search
        ctypes.CDLL(None).malloc_trim(0)
