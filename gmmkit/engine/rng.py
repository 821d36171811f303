"""Random generators: one from a ``random_state``, and one per EM restart.

Every restart gets its own random generator, fixed before any of them
runs: restart 0 uses ``random_state`` itself (so ``n_init=1`` draws what
it always drew) and restart i >= 1 a stream seeded from (seed, i). The
restarts then do not depend on each other, so they can run in any order
or in separate processes and the fit is the same (for an int or None
``random_state``; a Generator or RandomState gives one draw for the seed
of the later restarts first).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gmmkit.engine.types import RandomStateLike


def make_rng(random_state: RandomStateLike) -> np.random.Generator:
    """A numpy Generator from None, an int, a RandomState or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state={random_state!r} is not valid; pass None, an int, "
        "a numpy RandomState or a numpy Generator."
    )


def restart_seeds(seed: int, n_init: int) -> list[int | tuple[int, int]]:
    """The seed of every restart's Generator for an int ``random_state``: seed, (seed, i)."""
    return [seed] + [(seed, index) for index in range(1, n_init)]


def restart_rngs(random_state: RandomStateLike, n_init: int) -> list[np.random.Generator]:
    """One numpy Generator per restart (see the module docstring)."""
    if random_state is None:
        return [make_rng(None) for _ in range(n_init)]
    if isinstance(random_state, numbers.Integral):
        return [np.random.default_rng(s) for s in restart_seeds(int(random_state), n_init)]
    first = make_rng(random_state)
    seed = int(first.integers(2**31 - 1)) if n_init > 1 else 0
    return [first] + [np.random.default_rng([seed, index]) for index in range(1, n_init)]
