"""Keeping Python's cyclic garbage collector from freezing the screen.

The TUI holds up to millions of long-lived objects (every kept line and request). CPython runs a
full collection, a pass over all of them, each time the heap has grown by a quarter: hundreds of
ms with 100k lines, seconds with a million, during which no key is answered. What the TUI keeps
is acyclic (frozen dataclasses and tuples, freed by reference counting when dropped), so once a
batch is in, the young generations are collected and everything alive is moved out of the
collector's sight (`gc.freeze`). Full passes then only ever see what arrived since.

The cost: cyclic garbage made from objects that were alive at a freeze is never collected. The
TUI's own data has no cycles; what Textual keeps alive (widgets, screens) lives as long as the
app. On exit everything is handed back to the collector."""

from __future__ import annotations

import gc


class Collector:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.freezes = 0

    def settle(self) -> None:
        """After a batch: collect the young, put the survivors out of the full passes' way."""
        if not self.enabled:
            return
        gc.collect(1)
        gc.freeze()
        self.freezes += 1

    def release(self) -> None:
        if self.enabled:
            gc.unfreeze()
