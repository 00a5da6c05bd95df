"""A photo -> its person's COCO-18 keypoints and framing, all in one Keras graph.

`pose_pipeline()` joins BlazePose's two networks (`networks`, rebuilt from the `.tflite` files)
with the steps around them (`graph_ops`) as layers of one functional model, so that a
SavedModel or an ONNX file holds the whole estimator and no LiteRT, OpenCV or numpy runs
beside it. It follows the numpy pipeline (`estimator.PoseEstimator`) step by step:

1. the photo letterboxed to the detector's 224x224 (bilinear, black outside, [-1, 1]);
2. the detector, its 2254 anchors decoded, and the weighted non-maximum suppression's first
   cluster (the best person; see `graph_ops` for the bound);
3. the region of interest turned upright and resampled to 256x256 (bilinear, edge pixels
   outside, [0, 1]);
4. the landmark network, its points refined by the heatmap and mapped back to the photo;
5. the 33 landmarks as COCO-18 keypoints, and the window of the model's aspect around them.

Differences from the numpy pipeline, by design: one person per photo, the one the detector
is surest of (where its landmark network then finds no one, the numpy pipeline goes on to the
next detection and this one reports nobody); photos over `estimator.MAX_WORKING_SIDE` pixels
are sampled as they are, not shrunk first; arithmetic is float32 (the numpy pipeline's is
float64 around the networks), so a coordinate on a rounding boundary may fall the other way.
"""

import keras

from keras_nted.pose import detector
from keras_nted.pose import graph_ops
from keras_nted.pose import landmarks
from keras_nted.pose.coco import MIN_VISIBILITY
from keras_nted.pose.framing import MODEL_ASPECT
from keras_nted.pose.networks import LANDMARK_OUTPUTS
from keras_nted.pose.networks import detector_network
from keras_nted.pose.networks import landmark_network

NUM_KEYPOINTS = 18
OUTPUTS = (
    "keypoints",
    "confidence",
    "found",
    "score",
    "presence",
    "landmarks",
    "box",
    "framed_keypoints",
    "fill_color",
)


def _serializable(cls):
    return keras.saving.register_keras_serializable(package="keras_nted")(cls)


@_serializable
class LetterboxRegion(keras.layers.Layer):
    """`(batch, height, width, 3)` images -> `(batch, 5)` the square around each (`graph_ops`' regions)."""

    def call(self, image):
        return graph_ops.letterbox(image)

    def compute_output_shape(self, image_shape):
        return (image_shape[0], 5)


@_serializable
class RegionCrop(keras.layers.Layer):
    """`[images, regions]` -> the regions resampled to a square network input (`graph_ops.crop`).

    Args:
        output_size: the side of the result.
        value_range: `(low, high)` that pixel levels 0 and 255 map to.
        outside: `"zeros"` or `"edge"`: what fills the parts outside the image.
    """

    def __init__(self, output_size, value_range, outside="zeros", **kwargs):
        super().__init__(**kwargs)
        if outside not in ("zeros", "edge"):
            raise ValueError(f"Expected outside='zeros' or 'edge'. Received: outside={outside!r}")
        self.output_size = int(output_size)
        self.value_range = tuple(float(v) for v in value_range)
        self.outside = outside

    def call(self, inputs):
        image, region = inputs
        return graph_ops.crop(image, region, self.output_size, self.value_range, self.outside)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.output_size, self.output_size, 3)

    def get_config(self):
        config = super().get_config()
        config.update(output_size=self.output_size, value_range=self.value_range, outside=self.outside)
        return config


@_serializable
class PersonRegion(keras.layers.Layer):
    """`[raw boxes, raw scores, letterbox regions]` -> `[regions of interest (batch, 5), scores (batch,)]`.

    Decodes the detector's anchors, blends the best detection with those overlapping it
    (`graph_ops.best_cluster`) and turns its keypoints into the landmark network's region.

    Args:
        min_score: detections under this confidence join no cluster.
        iou_threshold: the overlap above which a detection joins the best one's cluster.
    """

    def __init__(self, min_score=detector.MIN_SCORE, iou_threshold=detector.NMS_IOU, **kwargs):
        super().__init__(**kwargs)
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.anchors = detector.anchor_centers().astype("float32")

    def call(self, inputs):
        raw_boxes, raw_scores, view = inputs
        scores, boxes, points = graph_ops.decode(raw_boxes, raw_scores, self.anchors, detector.INPUT_SIZE)
        score, points = graph_ops.best_cluster(scores, boxes, points, self.min_score, self.iou_threshold)
        return graph_ops.region_of_interest(graph_ops.region_to_image(points, view), detector.ROI_SCALE), score

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 5), (input_shape[0][0],)

    def get_config(self):
        config = super().get_config()
        config.update(min_score=self.min_score, iou_threshold=self.iou_threshold)
        return config


@_serializable
class LandmarkPoints(keras.layers.Layer):
    """`[raw landmarks (batch, 195), heatmaps, regions]` -> `[points (batch, 33, 2), visibility (batch, 33)]`.

    The landmark network's points refined by its heatmap (`graph_ops.refine_with_heatmap`) and
    mapped from the region to the photo's pixels; visibility through a sigmoid.
    """

    def call(self, inputs):
        raw, heatmap, region = inputs
        raw = keras.ops.reshape(raw, (-1, raw.shape[1] // 5, 5))[:, : landmarks.NUM_LANDMARKS]
        uv = graph_ops.refine_with_heatmap(
            raw[..., :2] / landmarks.INPUT_SIZE, heatmap, landmarks.HEATMAP_KERNEL, landmarks.MIN_HEATMAP_CONFIDENCE
        )
        return graph_ops.region_to_image(uv, region), keras.ops.sigmoid(raw[..., 3])

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        return (batch, landmarks.NUM_LANDMARKS, 2), (batch, landmarks.NUM_LANDMARKS)


@_serializable
class PersonKeypoints(keras.layers.Layer):
    """`[points, visibility, detection scores, presence, images]` -> `[keypoints, confidence, found, presence]`.

    COCO-18 keypoints `(batch, 18, 2)` in the photo's pixels (`-1` where missing, and everywhere
    when nobody was found), their confidences `(batch, 18)`, and `found` `(batch,)`: the detector
    scored the person at least `min_score` and the landmark network's presence reached
    `min_presence`; and the presence as `(batch,)`.
    """

    def __init__(self, min_score=detector.MIN_SCORE, min_presence=landmarks.MIN_PRESENCE,
                 min_visibility=MIN_VISIBILITY, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.min_score = float(min_score)
        self.min_presence = float(min_presence)
        self.min_visibility = float(min_visibility)

    def call(self, inputs):
        points, visibility, score, presence, image = inputs
        presence = keras.ops.reshape(presence, (-1,))
        found = (score >= self.min_score) & (presence >= self.min_presence)
        visibility = keras.ops.where(found[:, None], visibility, 0.0)
        shape = keras.ops.shape(image)
        keypoints, confidence = graph_ops.to_coco18(points, visibility, shape[1:3], self.min_visibility)
        return keypoints, confidence, found, presence

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        return (batch, NUM_KEYPOINTS, 2), (batch, NUM_KEYPOINTS), (batch,), (batch,)

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        return (
            keras.KerasTensor((batch, NUM_KEYPOINTS, 2), "float32"),
            keras.KerasTensor((batch, NUM_KEYPOINTS), "float32"),
            keras.KerasTensor((batch,), "bool"),
            keras.KerasTensor((batch,), "float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(min_score=self.min_score, min_presence=self.min_presence, min_visibility=self.min_visibility)
        return config


@_serializable
class PersonFraming(keras.layers.Layer):
    """`[keypoints, images]` -> `[box (batch, 4), framed keypoints (batch, 18, 2), fill colour (batch, 3)]`.

    `framing.frame_person` without the cut (whose size depends on the person): the window
    `(left, top, right, bottom)` of `aspect` around the keypoints, in the photo's pixels (all
    zeros where fewer than two keypoints are present), the keypoints in the window's pixels
    (`-1` where missing) and the colour that fills the window outside the photo.

    Args:
        aspect: the window's width / height (default: the model's, 176 / 256).
    """

    def __init__(self, aspect=MODEL_ASPECT, **kwargs):
        super().__init__(**kwargs)
        self.aspect = float(aspect)

    def call(self, inputs):
        keypoints, image = inputs
        box, _ = graph_ops.framing_box(keypoints, self.aspect)
        framed = keras.ops.where(keypoints != graph_ops.MISSING, keypoints - box[:, None, :2], graph_ops.MISSING)
        return box, framed, graph_ops.border_color(image)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        return (batch, 4), (batch, NUM_KEYPOINTS, 2), (batch, 3)

    def get_config(self):
        config = super().get_config()
        config.update(aspect=self.aspect)
        return config


def pose_pipeline(
    model_dir=None,
    aspect=MODEL_ASPECT,
    min_detection_score=detector.MIN_SCORE,
    min_presence=landmarks.MIN_PRESENCE,
    min_visibility=MIN_VISIBILITY,
    name="blazepose_pipeline",
):
    """BlazePose from photo to COCO-18 keypoints and framing, as one Keras model.

    Args:
        model_dir: the folder holding the two `.tflite` files (default: the Keras cache; see
            `model_files`). Their weights are read once, into the model.
        aspect: width / height of the framing window (default: the NTED model's, 176 / 256).
        min_detection_score, min_presence, min_visibility: the thresholds of `PoseEstimator`.
        name: the model's name.

    Returns:
        A `keras.Model` from `(batch, height, width, 3)` uint8 RGB photos, of any size (one size
        per batch), to a dict of:

        * `keypoints` `(batch, 18, 2)`: OpenPose COCO-18 `(x, y)` in the photo's pixels, `-1` where
          missing, as `Person.keypoints`; `confidence` `(batch, 18)`, 0 where missing;
        * `found` `(batch,)` bool: a person was found (`PoseEstimator` returns at least one); where
          not, every keypoint is missing;
        * `score` `(batch,)`: the detector's confidence in the best person; `presence` `(batch,)`:
          the landmark network's;
        * `landmarks` `(batch, 33, 2)`: the 33 BlazePose landmarks in the photo's pixels;
        * `box` `(batch, 4)`: the framing window `(left, top, right, bottom)` in the photo's pixels
          (`framing.framing_box`; zeros where fewer than two keypoints are present);
          `framed_keypoints` `(batch, 18, 2)`: the keypoints in the window's pixels;
          `fill_color` `(batch, 3)`: what `framing.frame_person` fills the window outside the photo with.

    Raises:
        FileNotFoundError: when the model files are missing, saying how to obtain them.

    Example:
    ```python
    model = pose_pipeline()
    out = model.predict(photos)  # (batch, height, width, 3) uint8
    keypoints = out["keypoints"][out["found"]]
    ```
    """
    image = keras.Input((None, None, 3), dtype="uint8", name="image")
    view = LetterboxRegion(name="letterbox")(image)
    detector_input = RegionCrop(detector.INPUT_SIZE, (-1.0, 1.0), "zeros", name="detector_input")([image, view])
    raw_boxes, raw_scores = detector_network(model_dir)(detector_input)
    region, score = PersonRegion(min_detection_score, name="person_region")([raw_boxes, raw_scores, view])
    full = landmark_network(model_dir)
    used = [full.outputs[LANDMARK_OUTPUTS.index(n)] for n in ("landmarks", "presence", "heatmap")]
    network = keras.Model(full.inputs, used, name=full.name)  # without the segmentation's upsampling
    landmark_input = RegionCrop(landmarks.INPUT_SIZE, (0.0, 1.0), "edge", name="landmark_input")([image, region])
    raw, presence, heatmap = network(landmark_input)
    points, visibility = LandmarkPoints(name="landmark_points")([raw, heatmap, region])
    coco18 = PersonKeypoints(min_detection_score, min_presence, min_visibility, name="coco18")
    keypoints, confidence, found, presence = coco18([points, visibility, score, presence, image])
    box, framed, fill = PersonFraming(aspect, name="framing")([keypoints, image])
    values = (keypoints, confidence, found, score, presence, points, box, framed, fill)
    return keras.Model(image, dict(zip(OUTPUTS, values)), name=name)
