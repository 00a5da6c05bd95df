"""Models: the NTED generator and discriminator, their presets, and the pose-transfer task.

The names load on first use (see `keras_nted.utils.lazy`): `keras-nted train --help` reads
`keras_nted.models.loss_settings` without importing Keras.
"""

from keras_nted.utils.lazy import lazy_exports

lazy_exports(
    globals(),
    {
        "NTEDDiscriminator": "keras_nted.models.discriminator",
        "NTEDGAN": "keras_nted.models.gan",
        "OptimizerGroup": "keras_nted.models.optimizers",
        "NTEDGenerator": "keras_nted.models.generator",
        "PoseTransfer": "keras_nted.models.pose_transfer",
        "PoseTransferPreprocessor": "keras_nted.models.pose_transfer_preprocessor",
        "list_presets": "keras_nted.models.preset_io",
        "DEFAULT_PRESET": "keras_nted.models.presets",
        "PRESETS": "keras_nted.models.presets",
        "get_preset": "keras_nted.models.presets",
    },
)
