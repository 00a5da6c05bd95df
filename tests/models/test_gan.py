"""NTEDGAN: the released training step under `fit` on every backend."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nted.losses import FaceLoss
from keras_nted.losses import PerceptualLoss
from keras_nted.models import NTEDGAN
from keras_nted.models import NTEDDiscriminator
from keras_nted.models import NTEDGenerator
from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.resume import fit_from_checkpoint
from tests.helpers import to_numpy

BATCH = 2
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


@pytest.fixture(scope="module")
def fresh_gan(tmp_path_factory):
    """`reset()` -> one compiled plain GAN, back at its saved start (weights, optimizers, counters).

    The checkpoint tests share it so that each phase compiles once for all of them (on JAX
    about 7 s a phase); loading the start file resets everything a fit can change.
    """
    gan = plain_gan()
    gan.compile(gan_start_step=0, r1_interval=2)
    start = str(tmp_path_factory.mktemp("fresh_gan") / "start.weights.h5")
    gan.save_weights(start)

    def reset():
        gan.load_weights(start)
        assert counters(gan) == (0, 0, 0)
        return gan

    reset.start = start
    return reset


def test_checkpoint_resumes_at_the_same_step_atomically(tmp_path, fresh_gan):
    backup = tmp_path / "backup"
    gan = fresh_gan()
    start = fresh_gan.start
    fit_from_checkpoint(
        gan, Batches(3), TrainingCheckpoint(str(backup), save_freq=2), epochs=2, verbose=0, shuffle=False
    )
    assert counters(gan) == (6, 6, 7)
    files = sorted(p.name for p in backup.iterdir())
    # Steps 2, 3 (epoch end), 4 and 6 were written; the newest two are kept.
    assert files == ["step_000000004.weights.h5", "step_000000006.weights.h5"], files
    saved = numpy_weights(gan)
    gan.load_weights(start)  # back to the start: only the checkpoint can bring the state back
    # epochs=2 was reached: fit restores the state and has nothing left to run.
    fit_from_checkpoint(
        gan, Batches(3), TrainingCheckpoint(str(backup), save_freq=2), epochs=2, verbose=0, shuffle=False
    )
    assert counters(gan) == (6, 6, 7)
    assert not changed(saved, gan)


class Recorder(keras.callbacks.Callback):
    """The (epoch, batch index) of every step, and the batches' identities."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self.epoch)


class Indexed(keras.utils.PyDataset):
    """Batch `i` is `make_batch(i)`; records the indices asked for."""

    def __init__(self, count):
        super().__init__()
        self.count, self.asked = count, []

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self.asked.append(index)
        return make_batch(index)


class BeginEnd(keras.callbacks.Callback):
    """Counts on_train_begin and on_train_end, and fails as TensorBoard does on a begin after an end."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        assert "end" not in self.calls, "on_train_begin after on_train_end"
        self.calls.append("begin")

    def on_train_end(self, logs=None):
        self.calls.append("end")


def test_resume_mid_epoch_continues_at_the_exact_step_and_batch(tmp_path, fresh_gan):
    backup = str(tmp_path / "backup")
    gan = fresh_gan()  # one model throughout: each phase compiles once
    start = fresh_gan.start
    gan.fit(Indexed(2), epochs=3, verbose=0, shuffle=False)  # steps: G, GAN, GAN + R1, GAN, GAN + R1, GAN
    whole, whole_counters = numpy_weights(gan), counters(gan)
    assert whole_counters[0] == 6

    # The same run from the start, stopped after step 3 (one step into epoch 2)...
    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(to_numpy(self.model.step)) == 3:
                self.model.stop_training = True

    gan.load_weights(start)
    fit_from_checkpoint(
        gan,
        Indexed(2),
        TrainingCheckpoint(backup, save_freq=1),
        epochs=3,
        verbose=0,
        callbacks=[StopAt()],
        shuffle=False,
    )
    assert counters(gan)[0] == 3
    # ...then everything forgotten, and resumed from its checkpoint.
    gan.load_weights(start)
    data, recorder, begin_end = Indexed(2), Recorder(), BeginEnd()
    history = fit_from_checkpoint(
        gan,
        data,
        TrainingCheckpoint(backup, save_freq=1),
        epochs=3,
        verbose=0,
        callbacks=[recorder, begin_end],
        shuffle=False,
    )
    # The rest of epoch 2 (batch 1), then epoch 3 (TensorFlow's adapter may ask for a batch twice: it peeks).
    assert [i for n, i in enumerate(data.asked) if i != data.asked[n - 1] or n == 0][:1] == [1], data.asked
    assert sorted(set(data.asked)) == [0, 1], data.asked
    assert recorder.steps == [1, 2, 2]  # epoch indices
    # One run to the callbacks: one begin, one end, one History over both epochs.
    assert begin_end.calls == ["begin", "end"]
    assert history.epoch == [1, 2] and len(history.history["loss"]) == 2
    assert counters(gan) == whole_counters
    for expected, variable in zip(whole, gan.weights):  # every backend is deterministic on a CPU
        np.testing.assert_array_equal(expected, to_numpy(variable), err_msg=variable.path)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, fresh_gan):
    from keras_nted.callbacks import NonFiniteLossError
    from keras_nted.callbacks import StopOnNonFiniteLoss

    class Poisoned(Indexed):
        def __getitem__(self, index):
            batch = super().__getitem__(index)
            if index == 2:
                batch["target_image"] = np.full_like(batch["target_image"], np.nan)
            return batch

    gan = fresh_gan()
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=1)
    with pytest.raises(NonFiniteLossError, match="Training diverged at step 3: .*loss=nan"):
        gan.fit(Poisoned(4), epochs=1, verbose=0, shuffle=False, callbacks=[StopOnNonFiniteLoss(), checkpoint])
    assert [step for step, _ in checkpoint.checkpoints()] == [1, 2]
    assert not all(np.isfinite(to_numpy(w)).all() for w in gan.weights)  # step 3 poisoned the weights
    assert checkpoint.restore(gan) == 2
    assert counters(gan)[0] == 2
    assert all(np.isfinite(to_numpy(w)).all() for w in gan.weights)


def test_ctrl_c_stops_after_the_step_with_its_checkpoint_and_restores_the_handler(tmp_path, fresh_gan):
    import signal

    from keras_nted.callbacks import StopOnInterrupt

    class CtrlCAt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:  # during step 2
                os.kill(os.getpid(), signal.SIGINT)

    gan = fresh_gan()
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=100)
    stop = StopOnInterrupt(checkpoint)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="stopped after step 2"):
        with stop.installed():
            gan.fit(Indexed(4), epochs=1, verbose=0, shuffle=False, callbacks=[CtrlCAt(), checkpoint, stop])
    assert signal.getsignal(signal.SIGINT) is before
    assert counters(gan)[0] == 2  # step 2 finished, step 3 never started
    assert [step for step, _ in checkpoint.checkpoints()] == [2]  # written although save_freq is 100


RESUME_SCRIPT = """
import json, sys, keras
from keras_nted.training.checkpoint import TrainingCheckpoint
from keras_nted.training.resume import fit_from_checkpoint
from tests.models.test_gan import plain_gan, Batches, counters

class Probe(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        print(json.dumps({"begin": counters(self.model)}), flush=True)

    def on_train_batch_end(self, batch, logs=None):
        print(json.dumps({"batch_saved": batch, "loss": float(logs["loss"])}), flush=True)
        self.taken = getattr(self, "taken", 0) + 1
        if self.taken == int(sys.argv[2]):
            self.model.stop_training = True

gan = plain_gan()
gan.compile(gan_start_step=0, r1_interval=2)
fit_from_checkpoint(
    gan, Batches(1000), TrainingCheckpoint(sys.argv[1], save_freq=1), verbose=0, callbacks=[Probe()], shuffle=False
)
print(json.dumps({"end": counters(gan)}), flush=True)
"""


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_sigkilled_run_resumes_at_the_same_step_on_another_backend(tmp_path):
    """Train here, SIGKILL mid-run, restart on another backend from the last checkpoint."""
    import signal
    import time

    backup = str(tmp_path / "backup")
    here = keras.backend.backend()
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[here]
    base_env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    first = subprocess.Popen(
        [sys.executable, "-c", RESUME_SCRIPT, backup, "1000"],
        env=dict(base_env, KERAS_BACKEND=here),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 300
    for line in first.stdout:  # wait until three steps are checkpointed, then kill -9
        if line.startswith("{"):
            seen.append(json.loads(line))
        if sum("batch_saved" in r for r in seen) >= 3 or time.monotonic() > deadline:
            break
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    saved = [r["batch_saved"] + 1 for r in seen if "batch_saved" in r]
    assert len(saved) >= 3, seen

    second = subprocess.run(
        [sys.executable, "-c", RESUME_SCRIPT, backup, "2"],
        env=dict(base_env, KERAS_BACKEND=other),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    report = _lines(second.stdout)
    begin = tuple(report[0]["begin"])
    # Killed after the checkpoint of step saved[-1] (or during the next one's write, which
    # the atomic rename makes invisible): training resumes exactly at a checkpointed step.
    assert begin[0] in (saved[-1], saved[-1] + 1), (begin, saved)
    step = begin[0]
    # G steps equal the step counter; D steps: steps 1.. plus R1 on even steps.
    assert begin == (step, step, (step - 1) + step // 2)
    end = tuple(report[-1]["end"])
    assert end[0] == step + 2
    # A write the kill interrupted left at most a temporary, which the resumed run removed.
    assert not [p for p in os.listdir(backup) if ".tmp" in p]
    assert all(np.isfinite(r["loss"]) for r in report if "loss" in r)


def test_bad_batches_are_clear_errors():
    gan = light_gan()
    gan.compile()
    with pytest.raises(ValueError, match="Expected batches as dicts with keys"):
        gan.fit(np.zeros((2, 64, 44, 3), "float32"), epochs=1, verbose=0)


def test_l1_training_without_a_perceptual_network():
    gan = NTEDGAN(NTEDGenerator.from_preset("nted_tiny"), NTEDDiscriminator.from_preset("nted_tiny"), None, None)
    gan.compile(weight_l1=1.0, gan_start_step=10**6)
    assert gan.weight_perceptual == 0.0
    history = gan.fit(Batches(2), epochs=1, verbose=0).history
    assert set(history) == {"loss", "l1", "attention"}
    assert np.isfinite(history["l1"][-1]) and history["l1"][-1] > 0
