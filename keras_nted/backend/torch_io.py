"""Reading PyTorch checkpoint files (torch is only needed for `.pt` / `.pth` files)."""

import pickle
import re

import numpy as np


def load_torch_state_dict(path):
    """Load a PyTorch file safely (`weights_only=True`) and return nested numpy arrays.

    Tensors become numpy arrays of their dtype (bfloat16, which numpy lacks, becomes
    float32, exactly); dicts, lists and tuples keep their structure; other values (ints,
    strings) pass through.

    Raises:
        ImportError: if torch is not installed, naming the extra to install.
        ValueError: if the file cannot be read as a PyTorch checkpoint.
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"Reading the PyTorch file {path} needs torch: `pip install keras-nted[torch]` "
            "(or convert it to .npz on a machine that has torch)."
        ) from e
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as e:
        # torch's message suggests `weights_only=False`, which would run the file's code.
        found = re.search(r"GLOBAL (\S+)", str(e))
        raise ValueError(
            f"Could not read {path} as a PyTorch checkpoint: it holds Python objects other than tensors"
            f"{f' ({found.group(1)})' if found else ''}, which keras-nted does not unpickle (that could run "
            "code from the file). Save the state dict alone: torch.save(model.state_dict(), path)."
        ) from None
    except Exception as e:
        lines = str(e).strip().splitlines()
        raise ValueError(
            f"Could not read {path} as a PyTorch checkpoint: {type(e).__name__}: {lines[0] if lines else ''}"
        ) from None

    def to_numpy(value):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            return (value.float() if value.dtype == torch.bfloat16 else value).numpy()
        if isinstance(value, dict):
            return {k: to_numpy(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(to_numpy(v) for v in value)
        return value

    return to_numpy(obj)


def save_torch_state_dict(state, path):
    """Write nested numpy arrays as a PyTorch file (tests and tools that make checkpoints)."""
    import torch

    def to_torch(value):
        if isinstance(value, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, dict):
            return {k: to_torch(v) for k, v in value.items()}
        return value

    torch.save(to_torch(state), str(path))
