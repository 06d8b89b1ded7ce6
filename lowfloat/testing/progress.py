"""A progress bar for long checks: tqdm when installed, else one line of text, and only on a terminal."""

from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """Counts inputs done out of ``total`` on stderr, when stderr is a terminal and ``enabled``.

    Never writes anything to a file or a pipe (logs and CI stay clean).
    """

    def __init__(self, total: int, *, enabled: bool = True, label: str = "checked"):
        self.total = total
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.done = 0
        self.bar = None
        self.last = -1

    def update(self, count: int) -> None:
        """``count`` more inputs are done."""
        self.done += count
        if not self.enabled:
            return
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.bar = False
            else:
                self.bar = tqdm(total=self.total, file=sys.stderr, unit=" inputs", unit_scale=True, leave=False,
                                desc=self.label)  # fmt: skip
        if self.bar:
            self.bar.update(count)
            return
        percent = 100 * self.done // max(self.total, 1)
        if percent != self.last:
            self.last = percent
            print(f"\r{self.label} {percent:3d}% ({self.done:,} of {self.total:,} inputs)", end="", file=sys.stderr,
                  flush=True)  # fmt: skip

    def close(self) -> None:
        if self.bar:
            self.bar.close()
        elif self.enabled and self.last >= 0:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
