"""Helpers of the speech tests: 2-D frames from four blobs and a small UBM of them.

Import as ``from speech_helpers import blobs`` (pytest puts this folder on sys.path).
"""

import numpy as np
from click.testing import CliRunner
from gmmkit_speech import FeatureConfig, train_ubm

PAIR = FeatureConfig(n_mfcc=2, deltas=False)


def blobs(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]]) + shift
    return centres[rng.integers(0, 4, n)] + 0.5 * rng.standard_normal((n, 2))


def small_ubm():
    """A 4-component UBM of 2-D frames from four blobs."""
    return train_ubm(blobs(2000, 0), n_components=4, feature_config=PAIR, verbose=False)


def run(cli, *args):
    """Invoke the CLI with every argument as a string: click's Result."""
    return CliRunner().invoke(cli, [str(a) for a in args])
