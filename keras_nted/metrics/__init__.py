"""Image-quality metrics of the pose-transfer papers: FID (both Inceptions) and the Frechet distance."""

from keras_nted.metrics.fid import FeatureStatistics
from keras_nted.metrics.fid import FrechetInceptionDistance
from keras_nted.metrics.fid import frechet_distance
from keras_nted.metrics.inception import inception_from_state_dict
from keras_nted.metrics.inception import inception_kind
from keras_nted.metrics.inception import inception_v3
from keras_nted.metrics.inception import load_inception_weights
from keras_nted.metrics.resize import BilinearResize
