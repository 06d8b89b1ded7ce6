"""A progress bar for long runs (checks, training, warmup): tqdm if installed, else a line of text; terminals only."""

from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """Counts work done out of ``total`` on stderr, when stderr is a terminal and ``enabled``.

    Never writes anything to a file or a pipe (logs and CI stay clean).
    ``unit`` names what is counted ("inputs", "steps", "kernels").
    """

    def __init__(self, total: int, *, enabled: bool = True, label: str = "", unit: str = "inputs"):
        self.total = total
        self.label = label
        self.unit = unit
        self.enabled = enabled and sys.stderr.isatty()
        self.done = 0
        self.bar = None
        self.last = -1

    def update(self, count: int, label: str | None = None) -> None:
        """``count`` more units are done; ``label`` (optional) replaces the text in front of the bar."""
        self.done += count
        if label is not None:
            self.label = label
        if not self.enabled:
            return
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.bar = False
            else:
                self.bar = tqdm(total=self.total, file=sys.stderr, unit=f" {self.unit}", unit_scale=True, leave=False,
                                desc=self.label)  # fmt: skip
        if self.bar:
            if label is not None:
                self.bar.set_description(label, refresh=False)
            self.bar.update(count)
            return
        percent = 100 * self.done // max(self.total, 1)
        if percent != self.last:
            self.last = percent
            print(f"\r{self.label} {percent:3d}% ({self.done:,} of {self.total:,} {self.unit})", end="",
                  file=sys.stderr, flush=True)  # fmt: skip

    def advance_to(self, done: int, label: str | None = None) -> None:
        """As :meth:`update`, given the count done so far."""
        self.update(done - self.done, label)

    def close(self) -> None:
        if self.bar:
            self.bar.close()
        elif self.enabled and self.last >= 0:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
