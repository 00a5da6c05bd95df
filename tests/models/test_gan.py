"""NTEDGAN: the released training step under `fit` on every backend."""

import keras
import numpy as np
import pytest

from keras_nted.losses import FaceLoss
from keras_nted.losses import PerceptualLoss
from keras_nted.models import NTEDGAN
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from tests.helpers import to_numpy

BATCH = 2


def smooth_images(rng, batch):
    """Low-frequency colour fields (a generator can fit these; white noise it cannot)."""
    coarse = rng.uniform(-1, 1, (batch, 8, 11, 3))
    return np.repeat(np.repeat(coarse, 8, axis=1), 4, axis=2).astype("float32")


def make_batch(seed, batch=BATCH, faces=False):
    rng = np.random.default_rng(seed)
    face = np.array([[14.0, 20.0, 26.0, 20.0]] * batch, "float32") if faces else np.full((batch, 4), -1.0, "float32")
    source, target = smooth_images(rng, batch), smooth_images(rng, batch)

    def skeleton(image):
        # A pose map that determines the image (as a real pose map determines the layout).
        maps = rng.uniform(0, 1, (batch, 64, 44, 20)).astype("float32")
        maps[..., :3] = (image + 1) / 2
        return maps

    return {
        "source_image": source,
        "target_image": target,
        "source_skeleton": skeleton(source),
        "target_skeleton": skeleton(target),
        "source_face_center": face,
        "target_face_center": face,
    }


class Batches(keras.utils.PyDataset):
    def __init__(self, count, faces=False, batch=None):
        super().__init__()
        self.count, self.faces, self.batch = count, faces, batch

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return self.batch if self.batch is not None else make_batch(index, faces=self.faces)


def light_gan(face=False, dtype=None):
    """The tiny GAN with a two-layer random VGG (the full VGG19 is what makes steps slow)."""
    layers = ("block1_conv1", "block2_conv1")
    return NTEDGAN(
        NTEDGenerator.from_preset("nted_tiny", dtype=dtype, name="generator"),
        NTEDDiscriminator.from_preset("nted_tiny", dtype=dtype, name="discriminator"),
        PerceptualLoss(layers=layers, weights="random", style_weight=500.0, name="perceptual_loss"),
        FaceLoss(layers=layers, weights="random", name="face_loss") if face else None,
        dtype=dtype,
    )


def numpy_weights(model):
    return [to_numpy(w).copy() for w in model.weights]


def changed(before, model):
    return any(not np.array_equal(a, to_numpy(b)) for a, b in zip(before, model.weights))


def counters(gan):
    return (
        int(to_numpy(gan.step)),
        int(to_numpy(gan.generator_optimizer.iterations)),
        int(to_numpy(gan.discriminator_optimizer.iterations)),
    )


def test_compile_defaults_are_the_released_ones():
    gan = NTEDGAN.from_preset("nted_tiny", vgg_weights="random")
    assert isinstance(gan.perceptual_loss, PerceptualLoss) and isinstance(gan.face_loss, FaceLoss)
    gan.compile()
    assert gan.ema_decay == pytest.approx(0.5 ** (32 / 10000))
    g, d = gan.generator_optimizer, gan.discriminator_optimizer
    assert float(to_numpy(g.learning_rate)) == pytest.approx(0.002) and g.beta_1 == 0.0 and g.beta_2 == 0.99
    assert float(to_numpy(d.learning_rate)) == pytest.approx(0.001882) and d.beta_2 == 0.9905
    assert g.epsilon == d.epsilon == 1e-8
    assert (gan.weight_perceptual, gan.weight_attention, gan.weight_face, gan.weight_gan) == (2.0, 15.0, 1.0, 1.5)
    assert gan.weight_l1 == 0.0
    assert (gan.r1_interval, gan.r1_weight) == (16, 10.0)
    assert gan.perceptual_loss.style_weight == 500.0
    phase = lambda step: gan.phase_for_step(step).name  # noqa: E731
    assert [phase(s) for s in (0, 1, 16, 17, 32)] == [
        "reconstruction",
        "adversarial",
        "adversarial_r1",
        "adversarial",
        "adversarial_r1",
    ]
    gan.compile(gan_start_step=20000)
    assert (phase(20000), phase(20001), phase(20016)) == ("reconstruction", "adversarial", "adversarial_r1")
    with pytest.raises(ValueError, match="steps_per_execution must be 1"):
        gan.compile(steps_per_execution=2)


def test_vgg_weights_none_builds_no_loss_network_and_l1_reconstructs():
    gan = NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
    assert gan.perceptual_loss is None and gan.face_loss is None
    assert not [layer for layer in gan._flatten_layers() if "vgg" in layer.name]
    gan.compile()
    assert (gan.weight_perceptual, gan.weight_face, gan.weight_l1) == (0.0, 0.0, 10.0)
    assert set(gan.enabled_terms(gan_on=True)) == {"l1", "attention", "gan"}
    gan.compile(weight_l1=0.5)
    assert gan.weight_l1 == 0.5


@pytest.fixture(scope="module")
def tiny_gan():
    return NTEDGAN.from_preset("nted_tiny", vgg_weights="none")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, "x"])
@pytest.mark.parametrize(
    "argument",
    ["weight_perceptual", "weight_attention", "weight_face", "weight_gan", "weight_l1", "weight_ssim", "r1_weight"],
)
def test_compile_rejects_bad_loss_weights(tiny_gan, argument, value):
    with pytest.raises(ValueError, match=rf"^Expected a finite number >= 0. Received: {argument}={value!r}$"):
        tiny_gan.compile(**{argument: value})


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), -0.002])
def test_default_optimizers_reject_bad_learning_rates(value):
    from keras_nted.models.optimizers import default_optimizers

    with pytest.raises(ValueError, match=rf"^Expected a finite number >= 0. Received: learning_rate={value!r}$"):
        default_optimizers(value)


class LogKeys(keras.callbacks.Callback):
    """Records the log keys of every training batch."""

    def on_train_begin(self, logs=None):
        self.keys = []

    def on_train_batch_end(self, batch, logs=None):
        self.keys.append(set(logs))


def test_fit_updates_everything_and_runs_r1_every_interval():
    gan = light_gan(face=True)
    gan.compile(gan_start_step=0, r1_interval=2)
    g0, d0, e0 = numpy_weights(gan.generator), numpy_weights(gan.discriminator), numpy_weights(gan.ema_generator)
    keys = LogKeys()
    history = gan.fit(Batches(5, faces=True), epochs=1, verbose=0, callbacks=[keys]).history
    # Exactly the enabled terms (l1 and ssim have weight 0): G only on step 0, then the GAN.
    generator_keys = {"loss", "perceptual", "attention", "face"}
    gan_keys = generator_keys | {"gan", "discriminator_loss", "real_score", "fake_score", "r1_penalty"}
    assert keys.keys == [generator_keys] + [gan_keys] * 4
    for name, values in history.items():
        assert np.isfinite(values[-1]), name
    assert history["face"][-1] > 0 and history["gan"][-1] > 0 and history["r1_penalty"][-1] > 0
    assert changed(g0, gan.generator) and changed(d0, gan.discriminator) and changed(e0, gan.ema_generator)
    # Steps 0..4: GAN on for steps > 0 (4 D steps), R1 on steps 2 and 4 (2 more D steps).
    assert counters(gan) == (5, 5, 6)
    # The EMA is a moving average of G: strictly between the start and G's weights.
    ema, start, now = (to_numpy(m.weights[0]) for m in (gan.ema_generator,)), e0[0], to_numpy(gan.generator.weights[0])
    ema = next(ema)
    assert np.abs(ema - start).max() < np.abs(now - start).max()
    # The VGG is frozen.
    assert not gan.perceptual_loss.trainable_variables


def test_no_discriminator_update_before_gan_start_and_default_monitors_work(tmp_path):
    gan = light_gan()
    gan.compile(gan_start_step=100, weight_ssim=0.5)
    d0 = numpy_weights(gan.discriminator)
    # Keras' default monitors ("val_loss") with validation data; one step per epoch.
    best = tmp_path / "best.weights.h5"
    callbacks = [
        keras.callbacks.EarlyStopping(patience=1),
        keras.callbacks.ModelCheckpoint(str(best), save_best_only=True, save_weights_only=True),
    ]
    history = gan.fit(
        Batches(3), epochs=3, steps_per_epoch=1, verbose=0, callbacks=callbacks, validation_data=Batches(1)
    ).history
    terms = {"loss", "perceptual", "attention", "ssim"}  # no GAN term, no disabled l1 / face
    assert set(history) == terms | {f"val_{name}" for name in terms}
    assert all(np.isfinite(v) for values in history.values() for v in values)
    assert best.is_file() and callbacks[0].best == min(history["val_loss"])
    assert not changed(d0, gan.discriminator)
    assert counters(gan)[2] == 0 and counters(gan)[0] == len(history["loss"])


def test_overfitting_one_batch_halves_the_reconstruction_loss():
    # Flat colour fields whose pose map carries the colour: learnable in a few steps.
    rng = np.random.default_rng(3)
    colours = rng.uniform(-1, 1, (4, 1, 1, 3)).astype("float32")
    images = np.broadcast_to(colours, (4, 64, 44, 3)).copy()
    skeletons = rng.uniform(0, 1, (4, 64, 44, 20)).astype("float32")
    skeletons[..., :3] = (images + 1) / 2
    batch = {
        "source_image": images[:2],
        "target_image": images[2:],
        "source_skeleton": skeletons[:2],
        "target_skeleton": skeletons[2:],
        "source_face_center": np.full((2, 4), -1.0, "float32"),
        "target_face_center": np.full((2, 4), -1.0, "float32"),
    }
    gan = NTEDGAN(
        NTEDGenerator.from_preset("nted_tiny"),
        NTEDDiscriminator.from_preset("nted_tiny"),
        PerceptualLoss(layers=("block1_conv1", "block2_conv1"), weights="random"),
        None,
    )
    gan.compile(gan_start_step=10**6, weight_attention=0.0)  # the released Adam settings
    # One step per epoch: the history holds every step's loss.
    losses = gan.fit(Batches(1, batch=batch), epochs=20, verbose=0).history["perceptual"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.fixture
def global_dtype_policy():
    """`keras.config.set_dtype_policy` for one test; the previous global policy is restored."""
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


def loss_scale(optimizer):
    return float(to_numpy(optimizer.dynamic_scale))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_the_generator_gan_and_r1_phases(global_dtype_policy, policy):
    from keras_nted.models.optimizers import default_optimizers

    global_dtype_policy(policy)
    gan = light_gan()  # built under the global policy
    compute = policy.split("_")[1]
    assert gan.generator.compute_dtype == gan.discriminator.compute_dtype == compute
    # An already wrapped optimizer is kept; the default discriminator Adam gets wrapped. G's
    # float16 gradients can overflow at the default 2**15 (then the step is skipped): start lower.
    wrapped = keras.optimizers.LossScaleOptimizer(default_optimizers()[0], initial_scale=2.0**10, name="generator_adam")
    # Step 0: G only; steps 1, 2: G, D and R1 (two phases, each compiled once).
    gan.compile(generator_optimizer=wrapped, gan_start_step=0, r1_interval=1)
    assert not isinstance(gan.optimizer, keras.optimizers.LossScaleOptimizer)  # Keras' own wrapping is off
    assert gan.generator_optimizer is wrapped
    scaled = isinstance(gan.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")  # bfloat16 has float32's range: no loss scaling
    # The house's numerics: every loss term in float32 (seen as the step computes them).
    seen, generator_losses = [], gan._generator_losses

    def spy(*args):
        total, terms = generator_losses(*args)
        seen.append({k: keras.backend.standardize_dtype(v.dtype) for k, v in dict(terms, total=total).items()})
        return total, terms

    gan._generator_losses = spy

    g0, d0 = numpy_weights(gan.generator), numpy_weights(gan.discriminator)
    history = gan.fit(Batches(2), epochs=1, verbose=0).history
    for name, values in history.items():
        assert np.isfinite(values[-1]), name
    assert history["discriminator_loss"][-1] > 0 and history["r1_penalty"][-1] > 0
    assert changed(g0, gan.generator) and changed(d0, gan.discriminator)
    float32 = dict.fromkeys(("total", "perceptual", "attention"), "float32")
    assert seen and all(
        s == dict(float32, fake=compute) or s == dict(float32, fake=compute, gan="float32") for s in seen
    ), seen
    if not scaled:
        assert counters(gan) == (2, 2, 2)
        return
    # Each loss-scaled apply either stepped the inner optimizer or halved the scale (a
    # non-finite gradient skips the step); G applied twice, D twice (D and R1 in step 1).
    for optimizer, initial in ((gan.generator_optimizer, 2.0**10), (gan.discriminator_optimizer, 2.0**15)):
        halvings = np.log2(initial / loss_scale(optimizer))
        assert halvings == int(halvings) >= 0, loss_scale(optimizer)
        assert int(to_numpy(optimizer.iterations)) + halvings == 2, optimizer.name
        assert (loss_scale(optimizer), int(to_numpy(optimizer.step_counter))) != (initial, 0)
    # Both scales are threaded through the step (JAX) and saved with the model.
    assert len([v for v in gan.optimizer.variables if v.name == "dynamic_scale"]) == 2

    # With a scale of 2**60 every step's float16 gradients of the *scaled* loss overflow: G, D
    # and R1 are skipped and their scales halved, while the logged (unscaled) losses stay
    # finite. Without scale_loss the gradients would be finite and the weights would move.
    iterations = [int(to_numpy(o.iterations)) for o in (gan.generator_optimizer, gan.discriminator_optimizer)]
    for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
        optimizer.dynamic_scale.assign(2.0**60)
    g1, d1 = numpy_weights(gan.generator), numpy_weights(gan.discriminator)
    history = gan.fit(Batches(1), epochs=1, verbose=0).history  # step 2: G, D and R1, already compiled
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    assert not changed(g1, gan.generator) and not changed(d1, gan.discriminator)
    assert (loss_scale(gan.generator_optimizer), loss_scale(gan.discriminator_optimizer)) == (2.0**59, 2.0**58)
    assert [int(to_numpy(o.iterations)) for o in (gan.generator_optimizer, gan.discriminator_optimizer)] == iterations


def plain_gan():
    """The tiny GAN without a loss network (L1 reconstructs): the cheapest one to train."""
    return NTEDGAN(NTEDGenerator.from_preset("nted_tiny"), NTEDDiscriminator.from_preset("nted_tiny"), None, None)


def test_bad_batches_are_clear_errors():
    gan = light_gan()
    gan.compile()
    with pytest.raises(ValueError, match="Expected batches as dicts with keys"):
        gan.fit(np.zeros((2, 64, 44, 3), "float32"), epochs=1, verbose=0)


def test_l1_training_without_a_perceptual_network():
    gan = plain_gan()
    gan.compile(weight_l1=1.0, gan_start_step=10**6)
    assert gan.weight_perceptual == 0.0
    history = gan.fit(Batches(2), epochs=1, verbose=0).history
    assert set(history) == {"loss", "l1", "attention"}
    assert np.isfinite(history["l1"][-1]) and history["l1"][-1] > 0
