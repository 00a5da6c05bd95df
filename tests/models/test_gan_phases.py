"""keras_nted.models.gan_phases: the trainer's phases and loss terms as data."""

from keras_nted.models.gan_phases import LOSS_TERMS
from keras_nted.models.gan_phases import PHASES
from keras_nted.models.loss_settings import LOSS_TABLE


def test_every_loss_weight_has_its_term_function():
    assert set(LOSS_TERMS) == {setting.term for setting in LOSS_TABLE if setting.is_weight}
    # The phases' names are unique, and only the discriminator's phases take the GAN term.
    assert len({phase.name for phase in PHASES}) == len(PHASES)
    assert [phase.gan for phase in PHASES] == [False, True, True]


def test_a_step_runs_the_last_phase_whose_conditions_hold():
    settings = {"gan_start_step": 3, "r1_interval": 2}
    last = [[p.name for p in PHASES if p.runs_at(step, settings)][-1] for step in range(7)]
    assert last == ["reconstruction"] * 4 + ["adversarial_r1", "adversarial", "adversarial_r1"]
