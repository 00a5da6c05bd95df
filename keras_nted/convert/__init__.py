"""Converting the released PyTorch NTED checkpoints to keras-nted models."""

from keras_nted.convert.official import assign_released_weights
from keras_nted.convert.official import load_official_discriminator
from keras_nted.convert.official import load_official_generator
from keras_nted.convert.official import read_state_dict
from keras_nted.convert.official import released_entries
