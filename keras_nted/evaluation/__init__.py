"""Evaluations of a generator: held-out mannequin pairs, the field's metrics over files, appearance control, poses.

The image metrics themselves (SSIM, PSNR, LPIPS, FID) live in `keras_nted.metrics`.
"""
