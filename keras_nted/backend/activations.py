"""The StyleGAN2 fused activation in the form each backend runs fastest."""

import keras
from keras import ops

BACKEND = keras.backend.backend()


def fused_leaky_relu(x, bias=None, negative_slope=0.2, scale=2.0**0.5):
    """`scale * leaky_relu(x + bias, negative_slope)`, any backend.

    torch runs eagerly, one pass over the tensor per operation: for `scale > 0` this is
    `leaky_relu(scale * x + scale * bias)` (equal: a positive gain commutes with the leaky
    ReLU), two passes instead of three (`torch.add` with `alpha`), the second in place when
    no gradient is recorded. JAX and TensorFlow fuse the three operations themselves.
    """
    if BACKEND == "torch" and scale > 0:
        import torch
        import torch.nn.functional as F

        x = ops.convert_to_tensor(x)
        if bias is None:
            y = torch.mul(x, scale)
        else:
            y = torch.add(ops.convert_to_tensor(bias).to(x.dtype) * scale, x, alpha=scale)
        return F.leaky_relu(y, negative_slope, inplace=not torch.is_grad_enabled())
    if bias is not None:
        x = x + bias
    return ops.leaky_relu(x, negative_slope=negative_slope) * scale
