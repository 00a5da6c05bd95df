"""keras-nted: Neural Texture Extraction and Distribution (Ren et al., CVPR 2022) for Keras 3.

The public names load on first use (see `keras_nted.utils.lazy`), so that the `keras-nted`
command answers `--help` and `--version` without importing Keras.
"""

from keras_nted.utils.lazy import lazy_exports
from keras_nted.version import __version__  # noqa: F401

_SUBPACKAGES = ("appearance", "callbacks", "convert", "data", "distribute", "export", "layers", "losses", "models")
lazy_exports(globals(), {name: f"keras_nted.{name}" for name in _SUBPACKAGES})
