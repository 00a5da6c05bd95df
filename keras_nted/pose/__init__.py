"""Keypoints from photos: the two-stage BlazePose estimator on LiteRT, and framing around a person.

Needs the `[pose]` extra (`ai-edge-litert`) and the two model files
(`keras-nted pose --get-models`, or `obtain_model_files()`); see docs/pose.md.
"""

from keras_nted.pose.estimator import Person
from keras_nted.pose.estimator import PoseEstimator
from keras_nted.pose.in_graph import pose_pipeline
from keras_nted.pose.model_files import default_model_dir
from keras_nted.pose.model_files import find_model_files
from keras_nted.pose.model_files import obtain_model_files
from keras_nted.pose.networks import detector_network
from keras_nted.pose.networks import landmark_network
