"""A pure-TensorFlow client of the two-photo signatures, run by the tests in a fresh process.

    python tests/export/tf_photo_client.py SAVED_MODEL_DIR REFERENCE POSE BLANK OUTPUTS.npz

REFERENCE, POSE and BLANK are image files (BLANK has nobody in it). OUTPUTS.npz gets
`encoded_image` / `encoded_keypoints` (`two_photos_encoded` on the files' bytes),
`uint8_image` / `uint8_keypoints` (`two_photos` on the decoded photos, batch 2 of the same
pair) and `error_blank_reference` / `error_blank_pose` (the messages of the requests with BLANK).
"""

import sys

import numpy as np
import tensorflow as tf


def main(saved_model_dir, reference, pose, blank, outputs_path):
    loaded = tf.saved_model.load(saved_model_dir)
    encoded = loaded.signatures["two_photos_encoded"]
    decoded = loaded.signatures["two_photos"]
    data = {
        name: tf.io.read_file(path)[None] for name, path in (("reference", reference), ("pose", pose), ("blank", blank))
    }
    out = encoded(reference_photo=data["reference"], pose_photo=data["pose"])
    outputs = {"encoded_image": out["image"].numpy(), "encoded_keypoints": out["keypoints"].numpy()}
    photos = {name: tf.io.decode_image(value[0], channels=3) for name, value in data.items()}
    out = decoded(reference_photo=tf.stack([photos["reference"]] * 2), pose_photo=tf.stack([photos["pose"]] * 2))
    outputs.update(uint8_image=out["image"].numpy(), uint8_keypoints=out["keypoints"].numpy())
    for case, request in (
        ("blank_reference", {"reference_photo": data["blank"], "pose_photo": data["pose"]}),
        ("blank_pose", {"reference_photo": data["reference"], "pose_photo": data["blank"]}),
    ):
        try:
            encoded(**request)
            message = ""
        except tf.errors.InvalidArgumentError as e:
            message = e.message
        outputs[f"error_{case}"] = np.array(message)
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
