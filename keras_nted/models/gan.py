"""`NTEDGAN`: the released NTED trainer as a `keras.Model` trained with `fit`."""

import functools

import keras
from keras import ops

from keras_nted.backend import autodiff
from keras_nted.backend import memory
from keras_nted.backend import steps
from keras_nted.backend.distribution import num_replicas
from keras_nted.backend.distribution import run_step
from keras_nted.backend.optimizers import apply_gradients
from keras_nted.data.batch import BATCH_KEYS
from keras_nted.distribute import prepare_fit
from keras_nted.distribute import to_host
from keras_nted.losses.adversarial import discriminator_gan_loss
from keras_nted.losses.adversarial import lazy_r1_weight
from keras_nted.losses.adversarial import r1_penalty
from keras_nted.models import gan_config
from keras_nted.models import preset_io
from keras_nted.models.base import KERAS_MODEL_ARGS
from keras_nted.models.gan_phases import LOSS_TERMS
from keras_nted.models.gan_phases import PHASES
from keras_nted.models.gan_phases import TERMS
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.loss_settings import DEFAULT_TRAINING
from keras_nted.models.loss_settings import LOSS_TABLE
from keras_nted.models.loss_settings import check_non_negative
from keras_nted.models.loss_settings import resolve_loss_settings
from keras_nted.models.optimizers import OptimizerGroup
from keras_nted.models.optimizers import default_optimizers
from keras_nted.models.optimizers import loss_scaled
from keras_nted.models.optimizers import scaled_loss
from keras_nted.utils.validation import check_int
from keras_nted.utils.validation import check_keywords

DEFAULT_EMA_DECAY = 0.5 ** (32 / 10000)


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
    >>> gan = NTEDGAN.from_preset("nted_tiny", vgg_weights="none")
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
        self._next_step = None
        self._phase_functions = {}
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
                or `"none"`: no loss network (no perceptual or face term; plain L1 with
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
        return cls(**gan_config.model_config_arguments(config, vgg_weights, image_width, face_loss), **kwargs)

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
        settings = resolve_loss_settings(
            {setting.name: arguments[setting.name] for setting in LOSS_TABLE},
            self.training_defaults, self.perceptual_loss is not None, self.face_loss is not None,
        )  # fmt: skip
        for name, value in settings.items():
            setattr(self, name, value)
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
        super().compile(
            optimizer=group, jit_compile=jit_compile, run_eagerly=run_eagerly, steps_per_execution=1,
            auto_scale_loss=False,
        )  # fmt: skip
        self._phase_functions = {}
        self._compile_args = {
            **{setting.name: getattr(self, setting.name) for setting in LOSS_TABLE},
            "r1_interval": self.r1_interval,
            "r1_weight": self.r1_weight,
            "ema_decay": self.ema_decay,
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.ema_generator(inputs, training=training)

    # ------------------------------------------------------------------ phases
    def phase_for_step(self, step):
        """The `Phase` of a step counter value (before its increment), as released."""
        settings = {"gan_start_step": self.gan_start_step, "r1_interval": self.r1_interval}
        return [phase for phase in PHASES if phase.runs_at(step, settings)][-1]

    def make_train_function(self, force=False):
        prepare_fit(self)  # every fit(): process 0's (maybe restored) state (torch), own all-reduce keys (TF)
        # The step the next call trains, counted on the host from the counter's value at every
        # fit() (it may have been restored): reading the counter every step would make JAX
        # re-attach the whole training state to the model every step.
        self._next_step = int(to_host(self.step))
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
        self._phase_functions = {
            phase: steps.make_train_function(self, functools.partial(self.phase_step, phase)) for phase in PHASES
        }
        memory.trim_after_compilations()  # JAX: the compiler's freed heap back to the OS before a step runs
        self.train_function = self._train_function
        return self.train_function

    def _train_function(self, *args):
        """The train function `fit` calls: the phase of the next step runs its own function."""
        phase = self.phase_for_step(self._next_step)
        out = run_step(self._phase_functions[phase], *args)  # TF multi-worker: a lost worker is one line
        self._next_step += 1
        return out

    # ------------------------------------------------------------------ steps
    def _state_variables(self):
        return (
            self.trainable_variables + self.non_trainable_variables + self.optimizer.variables + self.metrics_variables
        )

    def train_step(self, *args):
        """Keras' train step: the step of the phase of the counter's value (read on the host)."""
        phase = self.phase_for_step(int(to_host(self.step)))
        return steps.run_step(functools.partial(self.phase_step, phase), steps.train_variables(self), *args)

    def test_step(self, *args):
        return steps.run_step(self._test_step, steps.test_variables(self), *args)

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
        total = ops.zeros((), "float32")
        terms = {"fake": out["image"]}
        for name, weight in self.enabled_terms(gan_on).items():
            terms[name] = LOSS_TERMS[name](self, out, batch, training)
            total = total + weight * terms[name]
        return total, terms

    def phase_step(self, phase, data):
        """One training step of `phase` on a batch of pairs: Keras' logs."""
        batch = self._both_directions(data)
        logs, fake = self._generator_update(batch, phase.gan)
        if phase.gan:
            logs.update(self._discriminator_update(batch, fake, "r1" in phase.updates))
        return self._record(logs, phase)

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

    def _record(self, logs, phase):
        """Count the step, update the trackers with `logs`; the trackers' results."""
        with autodiff.no_grad():
            self.step.assign_add(1)
            for name, value in logs.items():
                self.trackers[name].update_state(ops.stop_gradient(value))
        names = list(logs)
        if phase.gan and "r1" not in phase.updates:
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
        networks = gan_config.serialized({key: getattr(self, key) for key in gan_config.NETWORKS})
        return {"name": self.name, **networks, "training_defaults": self.training_defaults}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**gan_config.deserialized(config, gan_config.NETWORKS, custom_objects))

    def get_compile_config(self):
        config = dict(getattr(self, "_compile_args", {}))
        if getattr(self, "generator_optimizer", None) is not None:
            config.update(gan_config.serialized({key: getattr(self, key) for key in gan_config.OPTIMIZERS}))
        return config

    def compile_from_config(self, config):
        self.compile(**gan_config.deserialized(config, gan_config.OPTIMIZERS))
