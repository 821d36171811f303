"""Input files: the CSV/.npy/.npz readers behind gmmkit.read_data.
"""
