"""The GAN trainer's optimizers: the released Adam pair, the group `fit` sees, loss scaling."""

import keras

from keras_nted.models.loss_settings import check_non_negative

# The generator's learning rate of the release.
DEFAULT_LEARNING_RATE = 0.002


@keras.saving.register_keras_serializable(package="keras_nted")
class OptimizerGroup(keras.optimizers.Optimizer):
    """Holds the generator and discriminator optimizers as the model's one `optimizer`.

    Keras' JAX trainer threads only `model.optimizer.variables` through the jitted step;
    exposing both optimizers' variables here is what makes the discriminator's Adam state
    advance on JAX (without it, it silently never updates). Never applied directly.
    """

    def __init__(self, optimizers=None, name="optimizer_group", **kwargs):
        kwargs.pop("learning_rate", None)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.named_optimizers = dict(optimizers or {})
        # A list, as Keras expects of grouped optimizers (TensorBoard logs each one's rate).
        self.optimizers = list(self.named_optimizers.values())

    def build(self, var_list):
        super().build([])

    @property
    def variables(self):
        return list(self._variables) + [v for opt in self.optimizers for v in opt.variables]

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError("OptimizerGroup is never applied; its optimizers are.")

    def save_own_variables(self, store):
        # The grouped optimizers save their own state: do not store it twice.
        for i, variable in enumerate(self._variables):
            store[str(i)] = keras.ops.convert_to_numpy(variable)

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def get_config(self):
        config = super().get_config()
        config["optimizers"] = {k: keras.saving.serialize_keras_object(v) for k, v in self.named_optimizers.items()}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizers"] = {
            k: keras.saving.deserialize_keras_object(v, custom_objects=custom_objects)
            for k, v in config.get("optimizers", {}).items()
        }
        return cls(**config)


def default_optimizers(learning_rate=DEFAULT_LEARNING_RATE, generator_schedule=None):
    """The released Adam pair for generator rate `learning_rate`.

    The discriminator's rate is `learning_rate * 0.001882 / 0.002` (the release's lazy-R1
    correction); `generator_schedule` (a Keras learning-rate schedule) replaces the
    generator's constant rate.
    """
    learning_rate = check_non_negative("learning_rate", learning_rate)
    generator = keras.optimizers.Adam(
        learning_rate if generator_schedule is None else generator_schedule,
        beta_1=0.0, beta_2=0.99, epsilon=1e-8, name="generator_adam",
    )  # fmt: skip
    discriminator = keras.optimizers.Adam(
        learning_rate * 0.001882 / 0.002, beta_1=0.0, beta_2=0.9905, epsilon=1e-8, name="discriminator_adam"
    )
    return generator, discriminator


def loss_scaled(optimizer, network):
    """`optimizer` wrapped in a `LossScaleOptimizer` when `network` computes in float16.

    float16 gradients underflow without loss scaling (bfloat16 has float32's range and needs
    none). The wrapper keeps the inner optimizer's name, so logs and TensorBoard tags are the
    same with and without it.
    """
    if network.compute_dtype != "float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=optimizer.name)


def scaled_loss(optimizer, loss_fn):
    """`loss_fn() -> (loss, aux)` as `() -> (optimizer.scale_loss(loss), (loss, aux))`.

    Gradients are taken of the scaled loss (a `LossScaleOptimizer` unscales them in `apply`;
    other optimizers return the loss as it is) while the unscaled loss is logged.
    """

    def scaled():
        loss, aux = loss_fn()
        return optimizer.scale_loss(loss), (loss, aux)

    return scaled
