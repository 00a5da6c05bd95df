"""The batch contract shared by every data source and `NTEDGAN`."""

# Each batch is a dict with these keys: images (B, H, W, 3) float32 in [-1, 1], skeletons
# (B, H, W, 20) float32 in [0, 1] and face centres (B, 4) float32 (eye x, y pairs; -1 = none).
BATCH_KEYS = (
    "source_image",
    "source_skeleton",
    "source_face_center",
    "target_image",
    "target_skeleton",
    "target_face_center",
)
