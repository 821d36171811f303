"""The EM engine: Stats, the covariance table, E-/M-steps, the EM loop, seeding,
variational, missing-value, noise and conditioning maths, thread and process pools.

Arrays, Stats and plain settings in, parameters out; imports nothing of gmmkit
but gmmkit.exceptions (checked by import-linter, see docs/contributing.md).
"""
