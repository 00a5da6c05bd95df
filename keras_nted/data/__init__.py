"""Data: pose maps, keypoint I/O, the DeepFashion loader and the mannequin data set."""

from keras_nted.data.augmentation import augment_image
from keras_nted.data.augmentation import sample_augmentation
from keras_nted.data.batch import BATCH_KEYS
from keras_nted.data.deepfashion import DeepFashionDataset
from keras_nted.data.keypoints import deepfashion_to_pixels
from keras_nted.data.keypoints import pixels_to_deepfashion
from keras_nted.data.keypoints import read_openpose_json
from keras_nted.data.keypoints import read_pose_file
from keras_nted.data.keypoints import to_pixels
from keras_nted.data.keypoints import write_openpose_json
from keras_nted.data.keypoints import write_pose_file
from keras_nted.data.layout import flatten_name
from keras_nted.data.layout import output_name
from keras_nted.data.layout import pose_path
from keras_nted.data.layout import read_pairs_file
from keras_nted.data.layout import write_pairs_file
from keras_nted.data.mannequin import MannequinDataset
from keras_nted.data.mannequin import make_identity
from keras_nted.data.mannequin import make_pose
from keras_nted.data.mannequin import render
from keras_nted.data.mannequin import write_mannequin_dataset
from keras_nted.data.prepare import prepare_deepfashion
from keras_nted.data.skeleton import face_center
from keras_nted.data.skeleton import render_skeleton
from keras_nted.utils.openpose import KEYPOINT_NAMES
