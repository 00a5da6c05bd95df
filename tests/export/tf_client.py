"""A pure-TensorFlow client of an exported SavedModel, run by the tests in a fresh process.

It imports neither Keras nor keras_nted: what it sees is what a serving stack sees.

    python tests/export/tf_client.py SAVED_MODEL_DIR INPUTS.npz OUTPUTS.npz

INPUTS.npz holds `reference_uint8` `(N, H, W, 3)`, `reference_float` `(N, H, W, 3)`,
`keypoints` `(N, 18, 2)` and `skeleton` `(N, H, W, 20)`. OUTPUTS.npz gets, for each batch size
`b` in (1, N), `serving_default_{b}` and `generate_from_skeleton_{b}` (the signatures run on the
first `b` examples), `signatures` (the names), and `error_<case>` (the message of each bad
request, or "" if it was accepted).
"""

import sys

import numpy as np
import tensorflow as tf


def main(saved_model_dir, inputs_path, outputs_path):
    inputs = dict(np.load(inputs_path))
    # Keep the loaded object referenced while its functions run (their variables belong to it).
    loaded = tf.saved_model.load(saved_model_dir)
    serving = loaded.signatures["serving_default"]
    from_skeleton = loaded.signatures["generate_from_skeleton"]
    outputs = {"signatures": np.array(sorted(loaded.signatures.keys()))}
    for batch in sorted({1, len(inputs["keypoints"])}):
        outputs[f"serving_default_{batch}"] = serving(
            reference_image=tf.constant(inputs["reference_uint8"][:batch]),
            keypoints=tf.constant(inputs["keypoints"][:batch]),
        )["image"].numpy()
        outputs[f"generate_from_skeleton_{batch}"] = from_skeleton(
            reference_image=tf.constant(inputs["reference_float"][:batch]),
            skeleton=tf.constant(inputs["skeleton"][:batch]),
        )["image"].numpy()

    reference, keypoints, skeleton = inputs["reference_uint8"][:1], inputs["keypoints"][:1], inputs["skeleton"][:1]
    bad_requests = {
        "float_reference": (serving, {"reference_image": tf.constant(reference, tf.float32), "keypoints": keypoints}),
        "small_reference": (serving, {"reference_image": reference[:, ::2], "keypoints": keypoints}),
        "17_keypoints": (serving, {"reference_image": reference, "keypoints": keypoints[:, :17]}),
        "uint8_skeleton": (
            from_skeleton,
            {"reference_image": inputs["reference_float"][:1], "skeleton": tf.constant(skeleton, tf.uint8)},
        ),
        "18_channel_skeleton": (
            from_skeleton,
            {"reference_image": inputs["reference_float"][:1], "skeleton": skeleton[..., :18]},
        ),
    }
    for case, (signature, request) in bad_requests.items():
        try:
            signature(**{name: tf.convert_to_tensor(value) for name, value in request.items()})
            message = ""
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
            message = f"{type(e).__name__}: {e}"
        outputs[f"error_{case}"] = np.array(message)
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
