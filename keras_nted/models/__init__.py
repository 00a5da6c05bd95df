"""Models: the NTED generator and discriminator, their presets, and the pose-transfer task."""

from keras_nted.models.discriminator import NTEDDiscriminator
from keras_nted.models.gan import NTEDGAN
from keras_nted.models.gan import OptimizerGroup
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.pose_transfer import PoseTransfer
from keras_nted.models.pose_transfer_preprocessor import PoseTransferPreprocessor
from keras_nted.models.preset_io import list_presets
from keras_nted.models.presets import PRESETS
from keras_nted.models.presets import get_preset
