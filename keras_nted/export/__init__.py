"""Export a generator for serving: a TF Serving SavedModel (or ONNX) with two signatures.

The export itself is `keras_nted.export.saved_model`; `python -m keras_nted.export`
(`__main__.py`) is the entry point that the export runs in a TensorFlow-backend subprocess when
another backend is active (or a torch-backend one for ONNX from JAX). ONNX without TensorFlow,
through Keras' own exporter on torch, is `keras_nted.export.onnx`.
"""

from keras_nted.export.onnx import KERAS_ONNX_BACKENDS
from keras_nted.export.onnx import KERAS_ONNX_PACKAGES
from keras_nted.export.onnx import ONNX_FILES
from keras_nted.export.onnx import serving_models
from keras_nted.export.saved_model import FORMATS
from keras_nted.export.saved_model import ONNX_PACKAGES
from keras_nted.export.saved_model import existing_versions
from keras_nted.export.saved_model import export_backend
from keras_nted.export.saved_model import export_outcome
from keras_nted.export.saved_model import export_saved_model
from keras_nted.export.saved_model import serving_functions
