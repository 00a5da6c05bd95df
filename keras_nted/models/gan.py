"""`NTEDGAN`: the released NTED trainer as a `keras.Model` trained with `fit`."""

import logging

import keras
from keras import ops

from keras_nted.backend import autodiff
from keras_nted.backend import memory
from keras_nted.backend.distribution import num_replicas
from keras_nted.backend.distribution import run_step
from keras_nted.backend.optimizers import apply_gradients
from keras_nted.data.batch import BATCH_KEYS
from keras_nted.distribute import prepare_fit
from keras_nted.distribute import to_host
from keras_nted.losses.adversarial import discriminator_gan_loss
from keras_nted.losses.adversarial import generator_gan_loss
from keras_nted.losses.adversarial import lazy_r1_weight
from keras_nted.losses.adversarial import r1_penalty
from keras_nted.losses.attention import attention_reconstruction_loss
from keras_nted.losses.face import FaceLoss
from keras_nted.losses.part_color import part_color_loss
from keras_nted.losses.perceptual import PerceptualLoss
from keras_nted.losses.ssim import ssim_loss
from keras_nted.models import preset_io
from keras_nted.models.base import KERAS_MODEL_ARGS
from keras_nted.models.discriminator import NTEDDiscriminator
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.loss_settings import DEFAULT_TRAINING
from keras_nted.models.loss_settings import LOSS_TABLE
from keras_nted.models.loss_settings import NO_VGG_WEIGHT_L1
from keras_nted.models.loss_settings import TRAINING_KEYS
from keras_nted.models.loss_settings import check_non_negative
from keras_nted.models.optimizers import OptimizerGroup
from keras_nted.models.optimizers import default_optimizers
from keras_nted.models.optimizers import loss_scaled
from keras_nted.models.optimizers import scaled_loss
from keras_nted.models.resume import OneRun
from keras_nted.models.resume import SkipBatches
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_keywords

DEFAULT_EMA_DECAY = 0.5 ** (32 / 10000)
# The step phases `(gan_on, r1_on)`: each is compiled as its own train function.
PHASES = ((False, False), (True, False), (True, True))
# The generator's loss terms (`LOSS_TABLE`'s weights without the `weight_` prefix), in log order.
TERMS = ("perceptual", "l1", "ssim", "part_color", "attention", "face", "gan")
# `vgg_weights` of `from_preset` (and of `keras-nted train --vgg-weights`) that build no loss network.
NO_VGG = (None, "none")


def loss_networks(training, vgg_weights, face_loss=True):
    """The perceptual and face losses of a preset's `training` dict, or `(None, None)`.

    Args:
        training: a preset's `training` dict (`vgg_num_scales`, `style_weight`).
        vgg_weights: `"imagenet"`, a local VGG19 `.h5` / `.pth` file, `"random"` (random
            VGG19 weights: benchmarks and tests), or `None` / `"none"`: no loss network
            (then `NTEDGAN.compile` makes plain L1 the reconstruction term).
        face_loss: include the face loss.

    Returns:
        `(perceptual_loss, face_loss)`: a `PerceptualLoss` and a `FaceLoss` (or `None`).
    """
    if vgg_weights in NO_VGG:
        return None, None
    weights = None if vgg_weights == "random" else vgg_weights
    perceptual = PerceptualLoss(
        num_scales=training.get("vgg_num_scales", 1), style_weight=training.get("style_weight", 500.0),
        weights=weights, name="perceptual_loss",
    )  # fmt: skip
    return perceptual, (FaceLoss(weights=weights, name="face_loss") if face_loss else None)


@keras.saving.register_keras_serializable(package="keras_nted")
class NTEDGAN(keras.Model):
    """The NTED training model: generator, discriminator, EMA generator and the released losses.

    `fit` runs the iteration of the released
    `trainers/extraction_distribution_trainer.py` on TensorFlow, JAX and PyTorch
    with one shared step: each batch of `B` pairs becomes a `2B` batch of both directions
    (source -> target and target -> source); the generator minimises
    `w_perc * perceptual + w_attn * attention + w_face * face (+ w_gan * gan)`, the EMA copy
    follows it, then (once the GAN is on) the discriminator takes a logistic-loss step and,
    every `r1_interval` steps, a second step on the lazy R1 penalty. The step counter
    (`step`) decides the phase before it is incremented, as released; each phase is a
    separately compiled function, so no step computes what it does not use.

    Args:
        generator: an `NTEDGenerator`.
        discriminator: an `NTEDDiscriminator` for the same image size.
        perceptual_loss: a `PerceptualLoss` (VGG19) for the reconstruction term, or `None`
            to train without it (then `weight_l1` defaults to 10: plain L1 reconstructs).
        face_loss: a `FaceLoss`, or `None` to drop the face term.
        ema_generator: the EMA copy; a copy of `generator` by default.
        training_defaults: the default loss weights and `gan_start_step` that `compile`
            uses (a preset's `training` dict).

    Call arguments:
        inputs: `[reference_image, skeleton]`: runs the EMA generator.

    Logs: `loss` (the generator's total, so Keras' default monitors work), then one entry
    per enabled term (weight != 0 and its network present): `perceptual`, `l1`, `ssim`,
    `attention`, `face`; in steps where the GAN is on also `gan` (when `weight_gan != 0`),
    `discriminator_loss`, `real_score`, `fake_score` and `r1_penalty` (the mean over the
    epoch's lazy R1 steps). Validation (`val_*`) scores the EMA generator on `loss` and the
    enabled reconstruction terms (no GAN term).

    Mixed precision: under a `mixed_float16` generator or discriminator, `compile` wraps
    that network's optimizer in a `keras.optimizers.LossScaleOptimizer` (dynamic loss
    scaling; already wrapped ones are kept) and every step (G, D and R1) takes gradients of
    the scaled loss; the logged losses are unscaled and float32.

    Example:
    >>> gan = NTEDGAN.from_preset("nted_tiny", vgg_weights=None)
    >>> gan.compile()
    >>> data = keras_nted.data.MannequinDataset(image_size=(64, 44), batch_size=2)  # doctest: +SKIP
    >>> gan.fit(data, epochs=1, steps_per_epoch=2)  # doctest: +SKIP

    Reference:
        Ren et al., CVPR 2022, Sec. 3.3 (losses); the released
        `trainers/extraction_distribution_trainer.py`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        perceptual_loss,
        face_loss=None,
        ema_generator=None,
        training_defaults=None,
        **kwargs,
    ):
        check_keywords(type(self).__name__, kwargs, KERAS_MODEL_ARGS)
        super().__init__(**kwargs)
        if not isinstance(generator, NTEDGenerator):
            raise ValueError(f"Expected an NTEDGenerator. Received: generator={type(generator).__name__}")
        if tuple(discriminator.inputs[0].shape[1:3]) != generator.image_size:
            raise ValueError(f"The discriminator takes {tuple(discriminator.inputs[0].shape[1:3])} images but the "
                             f"generator makes {generator.image_size}.")  # fmt: skip
        if not generator.trainable_weights:  # fit() would train nothing, silently
            raise ValueError("Expected a generator with trainable weights (set `generator.trainable = True`). "
                             f"Received: generator.trainable={generator.trainable}")  # fmt: skip
        self.generator = generator
        self.discriminator = discriminator
        self.ema_generator = ema_generator or generator.clone(name="ema_generator")
        # Frozen by its variables, not by its `trainable` flag: the flag is saved with the
        # network, and a saved EMA generator must load trainable, to fine-tune.
        for variable in self.ema_generator.weights:
            variable.trainable = False
        self.perceptual_loss, self.face_loss = perceptual_loss, face_loss
        for network in (n for n in (perceptual_loss, face_loss) if n is not None):
            network.trainable = False
        self.training_defaults = dict(DEFAULT_TRAINING, **(training_defaults or {}))
        # Added to once per step, not once per replica, under tf.distribute.
        self.step = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, aggregation="only_first_replica", name="step"
        )
        names = ("loss", *TERMS, "discriminator_loss", "real_score", "fake_score", "r1_penalty")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self._phase = (False, False)
        self._host_step = None
        self._variants = {}
        self.built = True

    presets = preset_io.PresetListing()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_preset(cls, preset, vgg_weights="imagenet", image_width=None, face_loss=True, load_weights=True, **kwargs):
        """Generator, discriminator and losses of a preset with its released training defaults.

        Args:
            preset: a built-in name (`keras_nted.models.list_presets()`), a directory written by
                `save_to_preset`, or an `hf://` handle (config and weights from the preset;
                `vgg_weights`, `image_width` and `face_loss` cannot be given then: a `ValueError`).
            vgg_weights: VGG19 weights for the perceptual and face losses: `"imagenet"`, a
                local `.h5` / `.pth` file, `"random"` (random weights: benchmarks and tests),
                or `None`: no loss network (no perceptual or face term; plain L1 with
                weight 10 reconstructs unless `compile` is given another `weight_l1`).
            image_width: input width (default `size * 11 / 16`).
            face_loss: include the face term.
            load_weights: load the preset's weights where it has some (`nted_mannequin_64`:
                its trained generator, into `generator` and `ema_generator`; the other
                built-in names are configs only, random weights).
        """
        changed = {"vgg_weights": vgg_weights != "imagenet", "image_width": image_width is not None}
        preset_io.refuse_build_options(preset, **changed, face_loss=face_loss is not True)
        build = lambda config: cls.from_model_config(config, vgg_weights, image_width, face_loss, **kwargs)  # noqa: E731
        return preset_io.from_preset(cls, preset, load_weights, build, kwargs)

    def save_to_preset(self, preset_dir):
        """Write config, weights (loss networks included), metadata and a model card to `preset_dir`."""
        return preset_io.save_preset(self, preset_dir)

    @classmethod
    def from_model_config(cls, config, vgg_weights="imagenet", image_width=None, face_loss=True, **kwargs):
        """As `from_preset`, for a model config in the preset form (`generator`, `discriminator`, `training`).

        `config` is a `keras_nted.models.PRESETS` entry or a `keras_nted.models.config.load_config` result.
        """
        training = check_keywords("the `training` section", config.get("training") or {}, TRAINING_KEYS)
        generator = NTEDGenerator(**config["generator"], image_width=image_width, name="generator")
        discriminator = NTEDDiscriminator(**config["discriminator"], image_width=image_width, name="discriminator")
        perceptual, face = loss_networks(training, vgg_weights, face_loss)
        defaults = {k: training[k] for k in DEFAULT_TRAINING if k in training}
        return cls(generator, discriminator, perceptual, face, training_defaults=defaults, **kwargs)

    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        weight_perceptual=None,
        weight_attention=None,
        weight_face=None,
        weight_gan=None,
        weight_l1=None,
        weight_ssim=None,
        weight_part_color=None,
        gan_start_step=None,
        r1_interval=16,
        r1_weight=10.0,
        ema_decay=DEFAULT_EMA_DECAY,
        jit_compile="auto",
        run_eagerly=False,
        steps_per_execution=1,
    ):
        """Configure training; every argument left `None` takes the preset's released default.

        Args:
            generator_optimizer: default Adam(0.002, beta_1=0, beta_2=0.99, epsilon=1e-8).
                Under a `mixed_float16` generator it is wrapped in a
                `keras.optimizers.LossScaleOptimizer` (unless it already is one).
            discriminator_optimizer: default Adam(0.001882, beta_1=0, beta_2=0.9905,
                epsilon=1e-8) (the lazy-R1-corrected rates of the release); wrapped the
                same way under a `mixed_float16` discriminator.
            weight_perceptual, weight_attention, weight_face, weight_gan: loss weights
                (finite, >= 0; 0 turns a term off, and it is then neither computed nor logged).
            weight_l1, weight_ssim, weight_part_color: weights of terms not in the release (0 by default;
                L1: 10 without a perceptual loss network): plain L1, `1 - SSIM` (`keras_nted.losses.ssim_loss`),
                per-part mean colour (`keras_nted.losses.part_color_loss`: needs `*_labels` in the batches).
            gan_start_step: the GAN terms run on steps `> gan_start_step`.
            r1_interval: steps between lazy R1 steps (16).
            r1_weight: the R1 gamma (10); applied as `r1_weight / 2 * r1_interval`.
            ema_decay: EMA decay per generator step (`0.5 ** (32 / 10000)`).
            jit_compile, run_eagerly: as in `keras.Model.compile`.
            steps_per_execution: must be 1 (the phase is chosen per step on the host).

        Raises:
            ValueError: for a loss weight, `r1_weight` or default learning rate that is not a
                finite number >= 0, a bad `r1_interval` / `ema_decay`, or
                `steps_per_execution != 1`.
        """
        if steps_per_execution != 1:
            raise ValueError(
                f"NTEDGAN chooses its phase per step: steps_per_execution must be 1. Received: {steps_per_execution}"
            )
        r1_interval = check_int("r1_interval", r1_interval)
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"Expected 0 <= ema_decay < 1. Received: ema_decay={ema_decay}")
        # The keyword arguments named in LOSS_TABLE (a test keeps the signature and the table alike).
        arguments = locals()
        self._set_loss_settings({setting.name: arguments[setting.name] for setting in LOSS_TABLE})
        self.r1_interval = r1_interval
        self.r1_weight = check_non_negative("r1_weight", r1_weight)
        self.ema_decay = float(ema_decay)
        default_g, default_d = default_optimizers()
        self.generator_optimizer = loss_scaled(generator_optimizer or default_g, self.generator)
        self.discriminator_optimizer = loss_scaled(discriminator_optimizer or default_d, self.discriminator)
        # Built eagerly, outside any jit / tf.function (JAX needs the slots to exist).
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        group = OptimizerGroup({"generator": self.generator_optimizer, "discriminator": self.discriminator_optimizer})
        # auto_scale_loss=False: Keras would wrap the group, whose scale no step uses; the
        # sub-optimizers scale their own losses (see `loss_scaled`).
        super().compile(optimizer=group, jit_compile=jit_compile, run_eagerly=run_eagerly, steps_per_execution=1,
                        auto_scale_loss=False)  # fmt: skip
        self._variants = {}
        self._compile_args = {**{setting.name: getattr(self, setting.name) for setting in LOSS_TABLE},
                              "r1_interval": self.r1_interval, "r1_weight": self.r1_weight,
                              "ema_decay": self.ema_decay}  # fmt: skip

    def _set_loss_settings(self, arguments):
        """Set every `LOSS_TABLE` setting from `compile`'s `arguments`; `None`: the training default."""
        d = dict(self.training_defaults)
        if self.perceptual_loss is None and not d["weight_l1"]:
            d["weight_l1"] = NO_VGG_WEIGHT_L1  # no loss network: L1 reconstructs
        for setting in LOSS_TABLE:
            value = arguments[setting.name]
            value = d[setting.name] if value is None else value
            setattr(self, setting.name, check_non_negative(setting.name, value) if setting.is_weight else int(value))
        # A term without its network is off (its weight is recorded as 0).
        if self.perceptual_loss is None:
            self.weight_perceptual = 0.0
        if self.face_loss is None:
            self.weight_face = 0.0

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.ema_generator(inputs, training=training)

    # ------------------------------------------------------------------ resuming
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, **kwargs):
        """`keras.Model.fit`, resuming at the exact step when a callback holds a checkpoint.

        A callback with a `restore_training_state(model)` method (`TrainingCheckpoint`)
        loads the newest checkpoint first and returns its step. Training then continues at
        that step: the epoch is `step // steps_per_epoch` and, when `x` is a
        `keras.utils.PyDataset` whose length is the epoch's, the interrupted epoch goes on
        with its remaining `steps_per_epoch - step % steps_per_epoch` batches. With
        `shuffle=False` these are the batches an uninterrupted run would train on, in the
        same order (`keras_nted.training.train` shuffles inside its data set, by seed and
        epoch, for this reason); with Keras' default `shuffle=True` the batch order comes
        from NumPy's global random state, so the rest of the epoch is drawn anew. Other
        inputs resume at the start of the interrupted epoch (its first batches are then
        trained on twice).
        """
        restorers = [c for c in (callbacks or []) if hasattr(c, "restore_training_state")]
        step = restorers[0].restore_training_state(self) if restorers else 0
        if not step:
            return super().fit(
                x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks, **kwargs
            )
        indexable = isinstance(x, keras.utils.PyDataset)
        steps = kwargs.get("steps_per_epoch") or (len(x) if indexable else None)
        if steps is None:
            raise ValueError(
                "Resuming from a checkpoint needs the epoch length: pass steps_per_epoch, or a keras.utils.PyDataset."
            )
        epoch, done = divmod(step, steps)
        kwargs["initial_epoch"] = min(epoch, epochs)
        if done and not (indexable and steps == len(x)):
            logging.getLogger(__name__).warning(
                "Resuming at step %d, %d batches into epoch %d: this input cannot start mid-epoch (a PyDataset "
                "whose length is the epoch's can), so the epoch starts over.", step, done, epoch + 1,
            )  # fmt: skip
            done = 0
        if not done or epoch >= epochs:
            return super().fit(
                x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks, **kwargs
            )
        # The rest of the interrupted epoch, then the remaining epochs, as one run to the
        # callbacks: one progress display, one History, one on_train_begin and one
        # on_train_end (TensorBoard closes its writers at the end and cannot begin again).
        kwargs.pop("steps_per_epoch", None)
        callback_list = OneRun(
            callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose, epochs=epochs, steps=steps - done,
            model=self,
        )  # fmt: skip
        history = super().fit(
            SkipBatches(x, done), batch_size=batch_size, epochs=epoch + 1, verbose=verbose, callbacks=callback_list,
            **kwargs,
        )  # fmt: skip
        if epoch + 1 < epochs and not self.stop_training:
            callback_list.set_params(dict(callback_list.params, steps=steps))
            kwargs["initial_epoch"] = epoch + 1
            history = super().fit(
                x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callback_list, **kwargs
            )  # fmt: skip
        callback_list.end()
        return history

    # ------------------------------------------------------------------ phases
    def phase_for_step(self, step):
        """`(gan_on, r1_on)` for a step counter value (before its increment), as released."""
        gan_on = step > self.gan_start_step
        return gan_on, gan_on and step % self.r1_interval == 0

    def make_train_function(self, force=False):
        prepare_fit(self)  # every fit(): process 0's (maybe restored) state (torch), own all-reduce keys (TF)
        # Re-read the counter at every fit(): it may have been restored from a checkpoint.
        self._host_step = int(to_host(self.step))
        if self.train_function is not None and not force:
            return self.train_function
        if self.jit_compile and num_replicas(self) > 1:
            # XLA fails under MirroredStrategy on (logical) CPUs: "Trying to access resource .../replica_1
            # located in device CPU:1 from device CPU:0" (a mirrored variable; tensorflow.org/xla/known_issues).
            # Unverified on GPUs: tf.function without XLA under any multi-replica strategy.
            self.jit_compile = False
        # Every phase's function is made here, up front: Keras' JAX `fit` purges the variables'
        # values right after this call, and a distributed function needs their shardings when it
        # is made. Making one compiles nothing (jit / tf.function trace on their first call).
        self._variants = {phase: self._make_phase_function(phase) for phase in PHASES}
        memory.trim_after_compilations()  # JAX: the compiler's freed heap back to the OS before a step runs
        self.train_function = self._phase_train_function
        return self.train_function

    def _make_phase_function(self, phase):
        """Keras' train function (jit, tf.function or eager, as compiled) of a step in `phase`."""

        # A fresh function object per phase: JAX caches traces by function identity.
        def phase_step(*step_args):
            self._phase = phase
            return NTEDGAN.train_step(self, *step_args)

        self.train_step = phase_step
        try:
            super().make_train_function(force=True)
        finally:
            del self.train_step
        return self.train_function

    def _phase_train_function(self, *args):
        """The train function `fit` calls: the step counter's phase (read on the host) runs its variant."""
        phase = self.phase_for_step(self._host_step)
        self._phase = phase  # read when a variant is traced (once per phase)
        out = run_step(self._variants[phase], *args)  # TF multi-worker: a lost worker is one line
        self._host_step += 1
        return out

    # ------------------------------------------------------------------ steps
    def _state_variables(self):
        return (
            self.trainable_variables + self.non_trainable_variables + self.optimizer.variables + self.metrics_variables
        )

    def train_step(self, *args):
        if autodiff.BACKEND == "jax":
            state, data = args
            groups = [
                self.trainable_variables,
                self.non_trainable_variables,
                self.optimizer.variables,
                self.metrics_variables,
            ]
            return autodiff.stateless_step(self._train_step, groups, state, data)
        return self._train_step(args[0])

    def test_step(self, *args):
        if autodiff.BACKEND == "jax":
            state, data = args
            groups = [self.trainable_variables, self.non_trainable_variables, self.metrics_variables]
            return autodiff.stateless_step(self._test_step, groups, state, data)
        return self._test_step(args[0])

    @staticmethod
    def _both_directions(data):
        if isinstance(data, (tuple, list)):
            data = data[0]
        if not isinstance(data, dict) or any(k not in data for k in BATCH_KEYS):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"Expected batches as dicts with keys {list(BATCH_KEYS)}. Received: {got}")
        cat = lambda a, b: ops.concatenate([data[a], data[b]], axis=0)  # noqa: E731
        # The mannequin set's part labels of the ground truth, where the batches have them (weight_part_color).
        labels = {"labels": cat("target_labels", "source_labels")} if "target_labels" in data else {}
        return {
            "input_image": cat("source_image", "target_image"),
            "input_skeleton": cat("target_skeleton", "source_skeleton"),
            "ground_truth": cat("target_image", "source_image"),
            "face_center": cat("target_face_center", "source_face_center"),
            **labels,
        }

    def enabled_terms(self, gan_on):
        """The generator's loss terms a step computes and logs: weight != 0, network present."""
        weights = {setting.term: getattr(self, setting.name) for setting in LOSS_TABLE if setting.is_weight}
        if not gan_on:
            weights["gan"] = 0.0
        return {term: weights[term] for term in TERMS if weights[term]}

    def _generator_losses(self, generator, batch, gan_on, training):
        """`(total, terms)`: the weighted sum of the enabled terms (float32), each term, `fake`."""
        out = generator([batch["input_image"], batch["input_skeleton"]], training=training)
        fake = out["image"]
        gt = batch["ground_truth"]
        term_fns = {
            "perceptual": lambda: self.perceptual_loss(fake, gt),
            "l1": lambda: ops.mean(ops.abs(ops.cast(fake, "float32") - ops.cast(gt, "float32"))),
            "ssim": lambda: ssim_loss(fake, gt),
            "part_color": lambda: part_color_loss(fake, gt, batch.get("labels")),
            "attention": lambda: attention_reconstruction_loss(
                out["extraction_softmax"], out["distribution_logits"], batch["input_image"], gt
            ),
            "face": lambda: self.face_loss(fake, gt, batch["face_center"]),
            "gan": lambda: generator_gan_loss(self.discriminator(fake, training=training)),
        }
        total = ops.zeros((), "float32")
        terms = {"fake": fake}
        for name, weight in self.enabled_terms(gan_on).items():
            terms[name] = term_fns[name]()
            total = total + weight * terms[name]
        return total, terms

    def _train_step(self, data):
        gan_on, r1_on = self._phase
        batch = self._both_directions(data)
        logs, fake = self._generator_update(batch, gan_on)
        if gan_on:
            logs.update(self._discriminator_update(batch, fake, r1_on))
        return self._record(logs, gan_on, r1_on)

    def _generator_update(self, batch, gan_on):
        """One optimizer step of the generator and its EMA: `(logs, fake)`."""
        g_vars = self.generator.trainable_variables
        g_fn = scaled_loss(
            self.generator_optimizer, lambda: self._generator_losses(self.generator, batch, gan_on, True)
        )
        _, (g_loss, terms), g_grads = autodiff.value_and_grad(g_fn, g_vars, self._state_variables())
        with autodiff.no_grad():
            apply_gradients(self.generator_optimizer, g_grads, g_vars)
            decay = self.ema_decay
            for ema, weight in zip(self.ema_generator.weights, self.generator.weights):
                ema.assign(weight + (ema - weight) * decay)
        logs = {"loss": g_loss, **{name: terms[name] for name in self.enabled_terms(gan_on)}}
        return logs, ops.stop_gradient(terms["fake"])

    def _discriminator_update(self, batch, fake, r1_on):
        """The discriminator's optimizer step on `real` vs `fake`, then lazy R1 if `r1_on`: logs."""
        state = self._state_variables()
        d_vars = self.discriminator.trainable_variables
        real = batch["ground_truth"]

        def d_loss_fn():
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            return discriminator_gan_loss(real_logits, fake_logits), (real_logits, fake_logits)

        d_fn = scaled_loss(self.discriminator_optimizer, d_loss_fn)
        _, (d_loss, (real_logits, fake_logits)), d_grads = autodiff.value_and_grad(d_fn, d_vars, state)
        with autodiff.no_grad():
            apply_gradients(self.discriminator_optimizer, d_grads, d_vars)
        logs = {
            "discriminator_loss": d_loss,
            "real_score": ops.mean(ops.cast(real_logits, "float32")),
            "fake_score": ops.mean(ops.cast(fake_logits, "float32")),
        }
        if r1_on:
            weight = lazy_r1_weight(self.r1_weight, self.r1_interval)

            def r1_fn():
                grads = autodiff.input_grad(lambda x: self.discriminator(x, training=True), real)
                penalty = r1_penalty(grads)
                return penalty * weight, penalty

            r1_fn = scaled_loss(self.discriminator_optimizer, r1_fn)
            _, (_, penalty), r1_grads = autodiff.value_and_grad(r1_fn, d_vars, state)
            with autodiff.no_grad():
                apply_gradients(self.discriminator_optimizer, r1_grads, d_vars)
            logs["r1_penalty"] = penalty
        return logs

    def _record(self, logs, gan_on, r1_on):
        """Count the step, update the trackers with `logs`; the trackers' results."""
        with autodiff.no_grad():
            self.step.assign_add(1)
            for name, value in logs.items():
                self.trackers[name].update_state(ops.stop_gradient(value))
        names = list(logs)
        if gan_on and not r1_on:
            names.append("r1_penalty")  # the epoch's mean over its R1 steps: one key set per GAN phase
        return {name: self.trackers[name].result() for name in names}

    def _test_step(self, data):
        batch = self._both_directions(data)
        # Validation scores the EMA generator (the deployed one) on the reconstruction terms.
        total, terms = self._generator_losses(self.ema_generator, batch, False, False)
        logs = {"loss": total, **{name: terms[name] for name in self.enabled_terms(False)}}
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {name: self.trackers[name].result() for name in logs}

    # ------------------------------------------------------------------ saving
    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "perceptual_loss": keras.saving.serialize_keras_object(self.perceptual_loss),  # None stays None
            "face_loss": keras.saving.serialize_keras_object(self.face_loss),
            "ema_generator": keras.saving.serialize_keras_object(self.ema_generator),
            "training_defaults": self.training_defaults,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator", "perceptual_loss", "face_loss", "ema_generator"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)

    def get_compile_config(self):
        config = dict(getattr(self, "_compile_args", {}))
        if getattr(self, "generator_optimizer", None) is not None:
            config["generator_optimizer"] = keras.saving.serialize_keras_object(self.generator_optimizer)
            config["discriminator_optimizer"] = keras.saving.serialize_keras_object(self.discriminator_optimizer)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)
