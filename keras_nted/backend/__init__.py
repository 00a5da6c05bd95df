"""The only package that imports tensorflow / jax / torch directly.

Everything else in keras-nted is written with `keras.ops`.
"""
