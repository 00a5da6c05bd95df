"""Leaf helpers shared by every floor of keras-nted: argument checks and image value ranges.

Nothing here imports from the rest of the package.
"""
