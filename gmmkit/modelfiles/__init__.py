"""Model files: save / load / read_metadata and their checks (no pickle).
"""
