"""Hypothesis profiles for every test folder (shared helpers live in helpers.py).

Hypothesis runs derandomized (the same examples every run) so CI is not
flaky; ``HYPOTHESIS_PROFILE=explore pytest`` draws new examples.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
