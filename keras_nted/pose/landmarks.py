"""Stage two: the BlazePose landmark network (`pose_landmark_full.tflite`) on an upright region.

The network sees a `Region` resampled to 256x256 (values in [0, 1]) and gives, for 39 points
(the 33 BlazePose landmarks and 6 auxiliary ones), `(x, y, z, visibility, presence)` with `x`
and `y` in input pixels and the last two as logits; a pose-presence score in [0, 1]; and a
64x64 heatmap per point. As the reference pipeline does, each point is refined by the heatmap
(a confidence-weighted mean over a 7x7 window around it, when the window's best confidence
reaches 0.5) and then mapped back to the photo through the region.
"""

import dataclasses

import numpy as np

INPUT_SIZE = 256
NUM_LANDMARKS = 33  # BlazePose's; the network's 6 auxiliary points are dropped
_NUM_OUTPUT_POINTS = 39
MIN_PRESENCE = 0.5
HEATMAP_KERNEL = 7
MIN_HEATMAP_CONFIDENCE = 0.5


@dataclasses.dataclass(frozen=True)
class Landmarks:
    """The 33 BlazePose landmarks of one person.

    Attributes:
        points: `(33, 2)` `(x, y)` pixels of the photo.
        visibility: `(33,)` in [0, 1]: how likely the point is visible (not hidden, in the image).
        presence: the network's confidence that the region holds a person, in [0, 1].
    """

    points: np.ndarray
    visibility: np.ndarray
    presence: float


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, "float64")))


def refine_with_heatmap(points, heatmap, kernel_size=HEATMAP_KERNEL, min_confidence=MIN_HEATMAP_CONFIDENCE):
    """Moves each point to the confidence-weighted mean of the heatmap cells around it.

    Args:
        points: `(n, 2)` `(u, v)` in [0, 1] of the network's input.
        heatmap: `(rows, cols, >= n)` logits.
        kernel_size: the window's side in heatmap cells.
        min_confidence: a point moves only when its window's best confidence reaches this.

    Returns:
        `(n, 2)` refined `(u, v)`.
    """
    rows, cols = heatmap.shape[:2]
    half = (kernel_size - 1) // 2
    refined = np.array(points, "float64")
    for i, (u, v) in enumerate(refined):
        col, row = int(u * cols), int(v * rows)
        if not (0 <= col < cols and 0 <= row < rows):
            continue
        r0, r1 = max(0, row - half), min(rows, row + half + 1)
        c0, c1 = max(0, col - half), min(cols, col + half + 1)
        confidence = _sigmoid(heatmap[r0:r1, c0:c1, i])
        total = confidence.sum()
        if confidence.max() < min_confidence or total <= 0:
            continue
        grid_rows, grid_cols = np.mgrid[r0:r1, c0:c1]
        refined[i] = ((grid_cols * confidence).sum() / total / cols, (grid_rows * confidence).sum() / total / rows)
    return refined


class LandmarkModel:
    """Runs `pose_landmark_full.tflite` on a region of a photo.

    Args:
        interpreter: a LiteRT interpreter of the landmark network.
        min_presence: below this pose-presence score the region holds no person (`None`).
    """

    def __init__(self, interpreter, min_presence=MIN_PRESENCE):
        self.interpreter = interpreter
        self.min_presence = min_presence
        self._input = interpreter.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"][1:]): d["index"] for d in interpreter.get_output_details()}
        self._points = outputs[(_NUM_OUTPUT_POINTS * 5,)]
        self._presence = outputs[(1,)]
        self._heatmap = next(i for shape, i in outputs.items() if len(shape) == 3 and shape[2] == _NUM_OUTPUT_POINTS)

    def __call__(self, image, region):
        """`(height, width, 3)` uint8 and a `Region` -> `Landmarks`, or `None` for no person."""
        self.interpreter.set_tensor(self._input, region.crop(image, INPUT_SIZE, (0.0, 1.0), outside="edge"))
        self.interpreter.invoke()
        presence = float(self.interpreter.get_tensor(self._presence).reshape(()))
        if presence < self.min_presence:
            return None
        raw = self.interpreter.get_tensor(self._points).reshape(_NUM_OUTPUT_POINTS, 5)[:NUM_LANDMARKS]
        heatmap = self.interpreter.get_tensor(self._heatmap)[0]
        uv = refine_with_heatmap(raw[:, :2] / INPUT_SIZE, heatmap)
        return Landmarks(points=region.to_image(uv), visibility=_sigmoid(raw[:, 3]), presence=presence)
