"""A procedural data set of clothed "mannequins": the embedded default for training and tests.

DeepFashion cannot be downloaded here, so the project ships a person-image generator whose output
has everything the real data set has: images of dressed figures in varied poses and views, their
OpenPose COCO-18 keypoints, and, in addition, per-pixel part labels (for appearance control).

Everything is a pure function of integer seeds (`seeds`: `identity_seed`, `pose_seed`):

- an `Identity` (`identity`: `make_identity(seed)`) fixes the body build, skin tone, hair, an
  upper garment (sleeve length, colours, pattern), a lower garment (trousers, shorts or a skirt),
  shoes and the background colour;
- a `Pose` (`pose`: `make_pose(seed, image_size)`) is an articulated 3-D stick figure (arm and
  leg angles, torso lean and twist, head turn, one of front / three-quarter / side / back views)
  projected orthographically, with a global scale and position; its keypoints are in pixel
  coordinates, `-1` (both coordinates) where a point is outside the image or hidden (the face
  points that the view turns away), exact at every image size (see `pose`);
- `render(identity, pose)` (`rendering`, painting with `canvas`) paints the body parts as
  anti-aliased tapered capsules in depth order, with the garment patterns computed in each
  part's own coordinates (a stripe on a sleeve follows the arm), and returns the image with its
  part labels (`LABEL_NAMES`).

`MannequinDataset` (`dataset`) streams pairs (two poses of one identity) as the batches the
trainer takes, and `write_mannequin_dataset` (`writer`) writes a set in the released DeepFashion
layout, which the DeepFashion loader reads back with the same images and skeletons.
"""

from keras_nted.data.mannequin.dataset import MannequinDataset
from keras_nted.data.mannequin.identity import HAIR_STYLES
from keras_nted.data.mannequin.identity import LOWER_KINDS
from keras_nted.data.mannequin.identity import PATTERNS
from keras_nted.data.mannequin.identity import SLEEVES
from keras_nted.data.mannequin.identity import Garment
from keras_nted.data.mannequin.identity import Identity
from keras_nted.data.mannequin.identity import make_identity
from keras_nted.data.mannequin.pose import KEYPOINT_GRID
from keras_nted.data.mannequin.pose import VIEWS
from keras_nted.data.mannequin.pose import Pose
from keras_nted.data.mannequin.pose import make_pose
from keras_nted.data.mannequin.rendering import BACKGROUND
from keras_nted.data.mannequin.rendering import HAIR
from keras_nted.data.mannequin.rendering import LABEL_COLORS
from keras_nted.data.mannequin.rendering import LABEL_NAMES
from keras_nted.data.mannequin.rendering import LOWER
from keras_nted.data.mannequin.rendering import SHOES
from keras_nted.data.mannequin.rendering import SKIN
from keras_nted.data.mannequin.rendering import UPPER
from keras_nted.data.mannequin.rendering import render
from keras_nted.data.mannequin.seeds import SPLITS
from keras_nted.data.mannequin.seeds import check_mannequin_size
from keras_nted.data.mannequin.seeds import identity_seed
from keras_nted.data.mannequin.seeds import pose_seed
from keras_nted.data.mannequin.writer import write_mannequin_dataset
