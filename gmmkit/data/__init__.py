"""Data sources: validation of X and sample_weight, in-memory arrays, .npy files,
chunk functions and Dask arrays, served to the engine in chunks.
"""
