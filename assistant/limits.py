"""Admission: a per-client rate limiter and the bounded gate in front of the answer generator.

In-process on purpose: one process serves a data directory (the embedded index is locked), so the
counts need no shared store. Behind a reverse proxy the client key is what uvicorn's proxy-headers
handling puts in `request.client` (X-Forwarded-For from a trusted proxy).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from assistant.errors import Busy

Clock = Callable[[], float]
MINUTE, DAY = 60.0, 86400.0
MAX_KEYS = 50_000  # clients remembered at once; the least recently seen are forgotten first


class RateLimiter:
    """Sliding-window counters per key, one per (limit, period) rule; a hit must pass every rule.

    The sliding window is approximated from two fixed windows (the previous one weighted by the share
    of it still inside the window, as Cloudflare and `limits` do): O(1) memory per client, and no burst
    of twice the limit at a window boundary as with plain fixed windows. It takes the previous window's
hits as evenly spread, so a burst early in a window waits up to two periods. A rule with limit 0 is off.
    """

    def __init__(self, rules: list[tuple[int, float]], clock: Clock = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.rules = [(limit, period) for limit, period in rules if limit > 0]
        self.clock, self.max_keys = clock, max_keys
        # key -> one [window number, hits in it, hits in the one before] per rule
        self._state: OrderedDict[str, list[list[float]]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def hit(self, key: str, *, force: bool = False) -> float:
        """Count one request of `key` if every rule admits it: 0.0; else the seconds until one would be
        admitted, and nothing is counted. `force` counts it regardless (a wrong staff token)."""
        with self._lock:
            windows, now = self._windows(key), self.clock()
            wait = max((self._wait(w, limit, period, now) for w, (limit, period) in zip(windows, self.rules)),
                       default=0.0)
            if wait == 0.0 or force:
                for w in windows:
                    w[1] += 1
            return wait

    def peek(self, key: str) -> float:
        """Seconds until a hit of `key` would be admitted (0.0: now), counting nothing."""
        with self._lock:
            if key not in self._state:
                return 0.0
            windows, now = self._windows(key), self.clock()
            return max((self._wait(w, limit, period, now) for w, (limit, period) in zip(windows, self.rules)),
                       default=0.0)

    def _windows(self, key: str) -> list[list[float]]:
        now = self.clock()
        windows = self._state.get(key)
        if windows is None:
            if len(self._state) >= self.max_keys:
                self._state.popitem(last=False)
            windows = self._state[key] = [[math.floor(now / period), 0.0, 0.0] for _, period in self.rules]
        self._state.move_to_end(key)
        for w, (_, period) in zip(windows, self.rules):
            current = math.floor(now / period)
            if current != w[0]:  # roll over: the last window becomes the previous one, or both lapse
                w[2] = w[1] if current == w[0] + 1 else 0.0
                w[0], w[1] = current, 0.0
        return windows

    @staticmethod
    def _wait(w: list[float], limit: int, period: float, now: float) -> float:
        """Seconds until prev × (1 − elapsed share) + cur + 1 ≤ limit."""
        window, cur, prev = w
        share = now / period - window  # elapsed share of the current window, in [0, 1)
        if prev * (1 - share) + cur + 1 <= limit:
            return 0.0
        if cur + 1 <= limit and prev > 0:  # later in this window, once enough of the previous one slid out
            return (1 - (limit - 1 - cur) / prev - share) * period
        # in the next window, where this window's count is the previous one
        later = max(0.0, 1 - (limit - 1) / cur) if cur > 0 else 0.0
        return (1 - share + later) * period


class AnswerGate:
    """At most `slots` answers at once; at most `max_waiting` wait for a slot, each up to `max_wait_s`.

    A full queue refuses at once (`Busy`): a resident is better served by 「混み合っています」 now than by a
    timeout later. `enter` returning False means the wait ran out: answer without the slot (extractively).
    """

    def __init__(self, slots: int, max_waiting: int, max_wait_s: float) -> None:
        self.slots, self.max_waiting, self.max_wait_s = slots, max_waiting, max_wait_s
        self.active = self.waiting = 0
        self._cond = threading.Condition()

    @property
    def full(self) -> bool:
        """Every slot taken and the queue full: the next question would be refused."""
        with self._cond:
            return self.active >= self.slots and self.waiting >= self.max_waiting

    def enter(self) -> bool:
        """Take a slot (True), or wait and give up after `max_wait_s` (False); `Busy` if the queue is full."""
        with self._cond:
            if self.active < self.slots and not self.waiting:
                self.active += 1
                return True
            if self.waiting >= self.max_waiting:
                raise Busy(retry_after=self.max_wait_s)
            self.waiting += 1
            try:
                got = self._cond.wait_for(lambda: self.active < self.slots, timeout=self.max_wait_s)
            finally:
                self.waiting -= 1
            if got:
                self.active += 1
            return got

    def leave(self) -> None:
        with self._cond:
            self.active -= 1
            self._cond.notify()
