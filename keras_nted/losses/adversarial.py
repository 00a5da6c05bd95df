"""Non-saturating logistic GAN losses and the R1 penalty (StyleGAN2 style, as released)."""

from keras import ops

from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_number


def generator_gan_loss(fake_logits):
    """Non-saturating generator loss `mean(softplus(-D(fake)))`.

    Args:
        fake_logits: discriminator logits of generated images, any shape (e.g. `(batch, 1)`).

    Returns:
        Scalar float32 loss.

    Example:
    >>> round(float(generator_gan_loss(np.zeros((2, 1), "float32"))), 4)
    0.6931

    Reference:
        Ren et al., CVPR 2022, Eq. 11 (its generator side); Goodfellow et al., "Generative
        Adversarial Nets", NeurIPS 2014 (non-saturating loss); released `loss/gan.py`.
    """
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))


def discriminator_gan_loss(real_logits, fake_logits):
    """Logistic discriminator loss `mean(softplus(D(fake))) + mean(softplus(-D(real)))`.

    The fake logits should come from detached generated images.

    Args:
        real_logits: discriminator logits of real (ground-truth) images.
        fake_logits: discriminator logits of generated images.

    Returns:
        Scalar float32 loss.

    Example:
    >>> zeros = np.zeros((2, 1), "float32")
    >>> round(float(discriminator_gan_loss(zeros, zeros)), 4)
    1.3863

    Reference:
        Ren et al., CVPR 2022, Eq. 11; released `loss/gan.py` (mode `style_gan2`).
    """
    fake = ops.mean(ops.softplus(ops.cast(fake_logits, "float32")))
    real = ops.mean(ops.softplus(-ops.cast(real_logits, "float32")))
    return fake + real


def r1_penalty(input_gradients):
    """R1 penalty `mean_b sum_{h,w,c} (dD(x)/dx)^2` from the gradients of D on real images.

    The gradient itself (`d sum(D(real)) / d real`, differentiable for the double backprop)
    is backend plumbing and lives in `keras_nted.backend`; this is only the reduction.
    The release applies it lazily: every `r1_interval` (16) discriminator steps it backprops
    `lazy_r1_weight(r1_weight, r1_interval) * r1_penalty(...)` = `10 / 2 * 16 = 80` times the
    penalty, in a second discriminator step.

    Args:
        input_gradients: `(batch, ...)` gradients of the discriminator output w.r.t. its
            real input images.

    Returns:
        Scalar float32 penalty.

    Example:
    >>> float(r1_penalty(np.ones((2, 4, 4, 3), "float32")))
    48.0

    Reference:
        Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018
        (R1); Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020,
        Sec. 3.1 (lazy regularisation).
    """
    grads = ops.cast(input_gradients, "float32")
    if len(grads.shape) < 2:
        raise ValueError(f"Expected batched gradients (batch, ...). Received: input_gradients.shape={grads.shape}")
    return ops.mean(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))))


def lazy_r1_weight(r1_weight=10.0, r1_interval=16):
    """Weight of the R1 penalty on the steps it runs: `r1_weight / 2 * r1_interval`.

    `r1_weight` is the R1 gamma (10 in the release) and `r1_interval` the number of
    discriminator steps between R1 steps (16); the factor `r1_interval` keeps the
    regularisation strength of an every-step R1 (StyleGAN2's lazy regularisation).

    Args:
        r1_weight: the R1 gamma, non-negative.
        r1_interval: steps between R1 evaluations, a positive integer.

    Returns:
        A Python float (80.0 for the released defaults).

    Raises:
        ValueError: for a negative `r1_weight` or a non-positive `r1_interval`.
    """
    r1_weight = check_number("r1_weight", r1_weight, inclusive=True)
    r1_interval = check_int("r1_interval", r1_interval)
    return r1_weight / 2.0 * r1_interval
