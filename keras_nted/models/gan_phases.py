"""`NTEDGAN`'s training step as data: its phases (`PHASES`) and the generator's loss terms (`LOSS_TERMS`)."""

from typing import NamedTuple

from keras import ops

from keras_nted.losses.adversarial import generator_gan_loss
from keras_nted.losses.attention import attention_reconstruction_loss
from keras_nted.losses.part_color import part_color_loss
from keras_nted.losses.ssim import ssim_loss


class Phase(NamedTuple):
    """One kind of training step: which networks it updates, and on which steps it runs.

    Attributes:
        name: the phase's name.
        updates: its optimizer steps, in order: `"generator"` (with the EMA copy; its loss
            has the `gan` term exactly when the discriminator steps too), `"discriminator"`,
            `"r1"` (the lazy R1 penalty's discriminator step).
        after: a `compile` setting; the phase runs on steps `> ` its value (`None`: any step).
        every: a `compile` setting; the phase runs on steps divisible by it (`None`: any step).
    """

    name: str
    updates: tuple
    after: str = None
    every: str = None

    @property
    def gan(self):
        """Whether the GAN is on: the generator's `gan` term and the discriminator's step."""
        return "discriminator" in self.updates

    def runs_at(self, step, settings):
        """Whether this phase's conditions hold at `step` (the counter before its increment)."""
        after = self.after is None or step > settings[self.after]
        return after and (self.every is None or step % settings[self.every] == 0)


# The step phases, as released; a step runs the last one whose conditions hold. Each is
# compiled as its own train function, so no step computes what it does not use.
PHASES = (
    Phase("reconstruction", ("generator",)),
    Phase("adversarial", ("generator", "discriminator"), after="gan_start_step"),
    Phase("adversarial_r1", ("generator", "discriminator", "r1"), after="gan_start_step", every="r1_interval"),
)


# The generator's loss terms, in log order: `(gan, outputs, batch, training) -> float32 scalar`.
# A term is scaled by its `LOSS_TABLE` weight (`weight_<term>`): a new term is a row there and
# a function here (a test keeps the two alike).
LOSS_TERMS = {
    "perceptual": lambda gan, out, batch, training: gan.perceptual_loss(out["image"], batch["ground_truth"]),
    "l1": lambda gan, out, batch, training: ops.mean(
        ops.abs(ops.cast(out["image"], "float32") - ops.cast(batch["ground_truth"], "float32"))
    ),
    "ssim": lambda gan, out, batch, training: ssim_loss(out["image"], batch["ground_truth"]),
    "part_color": lambda gan, out, batch, training: part_color_loss(
        out["image"], batch["ground_truth"], batch.get("labels")
    ),
    "attention": lambda gan, out, batch, training: attention_reconstruction_loss(
        out["extraction_softmax"], out["distribution_logits"], batch["input_image"], batch["ground_truth"]
    ),
    "face": lambda gan, out, batch, training: gan.face_loss(out["image"], batch["ground_truth"], batch["face_center"]),
    "gan": lambda gan, out, batch, training: generator_gan_loss(gan.discriminator(out["image"], training=training)),
}
TERMS = tuple(LOSS_TERMS)
