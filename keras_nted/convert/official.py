"""Released NTED checkpoints (PyTorch state dicts) -> keras-nted models.

Every Keras layer of the generator and discriminator is named after the released module
path, so each released key `<module path>.<param>` maps to one Keras variable.
"""

import os
import pathlib
import zipfile

import numpy as np

from keras_nted.layers.equalized import EqualizedConv2D
from keras_nted.layers.equalized import EqualizedConv2DTranspose
from keras_nted.layers.equalized import EqualizedDense
from keras_nted.layers.equalized import FusedLeakyReLU
from keras_nted.layers.nted import NTEDDistribution
from keras_nted.layers.nted import NTEDExtraction
from keras_nted.layers.resample import Blur
from keras_nted.layers.resample import Upsample
from keras_nted.models.config import released_part
from keras_nted.models.discriminator import NTEDDiscriminator
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.presets import PRESETS
from keras_nted.models.presets import get_preset

# Conversions from the released PyTorch layouts to Keras kernels.
_CONV = lambda w: np.transpose(w, (2, 3, 1, 0))  # noqa: E731  (out, in, kh, kw) -> (kh, kw, in, out)
_CONV_T = lambda w: np.transpose(w, (2, 3, 0, 1))  # noqa: E731  (out, in, kh, kw) -> (kh, kw, out, in)
_DENSE = lambda w: np.transpose(w, (1, 0))  # noqa: E731  (out, in) -> (in, out)
_SAME = lambda w: w  # noqa: E731
_CHECKPOINT_KEYS = {"generator": ("net_G_ema", "net_G"), "discriminator": ("net_D",)}
_FIXTURE_PREFIX = {"generator": "", "discriminator": "dis."}
_NETWORKS = {"generator": NTEDGenerator, "discriminator": NTEDDiscriminator}


def released_path(layer_name):
    """The released module path of a keras-nted layer (`-` in Keras names stands for `.`)."""
    return layer_name.replace("-", ".")


def _conv_entries(prefix, layer):
    entries = {f"{prefix}.weight": (layer.kernel, _CONV)}
    if layer.use_bias:
        entries[f"{prefix}.bias"] = (layer.bias, _SAME)
    return entries


def released_entries(model):
    """`{released key: (keras variable or numpy constant, layout conversion)}` for a model.

    Buffers (the FIR kernels) map to the numpy constant the Keras layer applies; loading
    checks that the checkpoint's buffer equals it.
    """
    entries = {}
    for layer in model.layers:
        name = released_path(layer.name)
        if isinstance(layer, EqualizedConv2DTranspose):
            entries[f"{name}.weight"] = (layer.kernel, _CONV_T)
        elif isinstance(layer, EqualizedConv2D):
            entries.update(_conv_entries(name, layer))
        elif isinstance(layer, EqualizedDense):
            entries[f"{name}.weight"] = (layer.kernel, _DENSE)
            if layer.use_bias:
                entries[f"{name}.bias"] = (layer.bias, _SAME)
        elif isinstance(layer, FusedLeakyReLU):
            entries[f"{name}.bias"] = (layer.bias, _SAME)
        elif isinstance(layer, NTEDExtraction):
            entries.update(_conv_entries(f"{name}.value_conv", layer.value_conv))
            entries.update(_conv_entries(f"{name}.semantic_extraction_filter", layer.semantic_extraction_filter))
        elif isinstance(layer, NTEDDistribution):
            entries.update(_conv_entries(f"{name}.semantic_distribution_filter", layer.semantic_distribution_filter))
        elif isinstance(layer, (Blur, Upsample)):
            entries[f"{name}.kernel"] = (layer.fir_kernel, _SAME)
        elif layer.weights:
            raise TypeError(f"No released mapping for layer {name!r} ({type(layer).__name__}).")
    return entries


def read_state_dict(source, part):
    """Released state dict for `part` ("generator" or "discriminator") as `{key: ndarray}`.

    Args:
        source: a released training checkpoint (`.pt`/`.pth` with `net_G_ema`, `net_G`,
            `net_D`), a plain PyTorch state-dict file, an `.npz` of released keys (the
            discriminator's keys may carry a `dis.` prefix, as in the fixtures), or a mapping
            of key -> array.
        part: "generator" or "discriminator".
    """
    if part not in _CHECKPOINT_KEYS:
        raise ValueError(f"Expected part 'generator' or 'discriminator'. Received: part={part!r}")
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Checkpoint file not found: {path}")
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    state = {k: data[k] for k in data.files}
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:  # truncated, pickled, not a zip
                raise ValueError(f"Could not read {path} as an .npz of arrays: {type(e).__name__}: {e}") from None
        elif path.suffix in (".pt", ".pth", ".ckpt", ".bin"):
            from keras_nted.backend.torch_io import load_torch_state_dict

            state = load_torch_state_dict(path)
        else:
            raise ValueError(f"Expected a .pt, .pth or .npz checkpoint. Received: {path}")
    elif hasattr(source, "keys"):
        state = dict(source)
    else:
        raise ValueError(f"Expected a checkpoint path or a mapping of key -> array. Received: {type(source).__name__}")
    where = f"{source}" if isinstance(source, (str, os.PathLike)) else "the given state dict"
    if not isinstance(state, dict):
        raise ValueError(
            f"Expected {where} to hold a state dict (a mapping of key -> tensor) or a training checkpoint. "
            f"Received: {type(state).__name__}"
        )

    for key in _CHECKPOINT_KEYS[part]:
        if key in state and isinstance(state[key], dict):
            state = state[key]
            break
    else:
        nested = [k for k, v in state.items() if isinstance(v, dict)]
        if nested:
            raise ValueError(
                f"The checkpoint holds {nested} but none of {list(_CHECKPOINT_KEYS[part])} (the {part}'s weights)."
            )
    prefix = _FIXTURE_PREFIX[part]
    out = {}
    for key, value in state.items():
        if not hasattr(value, "shape"):
            continue
        if not isinstance(key, str):
            raise ValueError(
                f"Expected {where} to have string keys (released module paths). "
                f"Received: the key {key!r} ({type(key).__name__})"
            )
        if key.startswith("module."):
            key = key[len("module.") :]
        if prefix and key.startswith(prefix):
            key = key[len(prefix) :]
        elif part == "discriminator" and any(k.startswith(prefix) for k in state):
            continue  # an .npz of both nets: keep the discriminator's keys only
        elif part == "generator" and key.startswith("dis."):
            continue
        out[key] = np.asarray(value)
        if out[key].dtype.kind in "fc" and not np.all(np.isfinite(out[key])):
            raise ValueError(
                f"Expected finite weights in {where}. Received NaN or infinite values in {key!r} "
                f"({int(np.sum(~np.isfinite(out[key]))):,} of {out[key].size:,})"
            )
        if out[key].dtype.kind not in "biuf":
            raise ValueError(f"Expected numeric weights in {where}. Received {key!r} of dtype {out[key].dtype}")
    return out


def _list(keys, limit=12):
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def assign_released_weights(model, state_dict, config_name="this configuration"):
    """Assign a released state dict to a keras-nted model, consuming every key exactly once.

    Raises:
        ValueError: listing missing, unexpected and mis-shaped keys, or buffers that differ
            from the fixed FIR kernels.
    """
    entries = released_entries(model)
    missing = set(entries) - set(state_dict)
    unexpected = set(state_dict) - set(entries)
    mis_shaped, bad_buffers, values = [], [], {}
    for key in set(entries) & set(state_dict):
        target, convert = entries[key]
        value = np.asarray(state_dict[key], dtype="float32")
        if value.ndim == len(target.shape):  # the layout conversions keep the rank
            value = convert(value)
        if tuple(value.shape) != tuple(target.shape):
            mis_shaped.append(
                f"{key}: checkpoint {tuple(state_dict[key].shape)}, expected (converted) {tuple(target.shape)}"
            )
        elif isinstance(target, np.ndarray):
            if not np.allclose(value, target, atol=1e-6):
                bad_buffers.append(key)
        else:
            values[key] = value
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {_list(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_list(unexpected)}")
    if mis_shaped:
        problems.append(f"mis-shaped keys ({len(mis_shaped)}): " + "; ".join(sorted(mis_shaped)[:8]))
    if bad_buffers:
        problems.append(f"FIR kernel buffers that differ from [1, 3, 3, 1]: {_list(bad_buffers)}")
    if problems:
        raise ValueError(
            f"The checkpoint does not match {config_name} ({type(model).__name__}): "
            + " | ".join(problems)
            + ". Is it from another configuration?"
        )
    for key, value in values.items():
        entries[key][0].assign(value)
    return model


def _resolve_config(config, part):
    """A preset name or a released-style `gen.param` / `dis.param` dict -> constructor kwargs."""
    # The released YAML's arguments: the network's config but the width (not a released setting).
    allowed = tuple(arg for arg in _NETWORKS[part].config_args if arg != "image_width")
    if isinstance(config, str):
        return get_preset(config)[part], config
    if not isinstance(config, dict):
        raise ValueError(
            f"Expected `config` to be a preset name ({', '.join(sorted(PRESETS))}) or a released-style dict. "
            f"Received: {config!r}"
        )
    config = released_part(config, part)
    kwargs = {k: v for k, v in config.items() if k in allowed}
    ignored = set(config) - set(allowed) - {"blur_kernel", "input_nc", "type"}
    if ignored:
        raise ValueError(f"Unknown {part} configuration keys: {sorted(ignored)}. Expected some of {list(allowed)}.")
    if list(config.get("blur_kernel", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        raise ValueError(f"Only blur_kernel [1, 3, 3, 1] is supported. Received: {config['blur_kernel']}")
    return kwargs, f"the given {part} configuration (size {kwargs.get('size')})"


def load_official_generator(source, config="nted_fashion_256", image_width=None, **kwargs):
    """Build an `NTEDGenerator` and load released weights into it.

    Args:
        source: a released checkpoint `.pt` (`net_G_ema` is used when present, then `net_G`
            with or without `module.`), a plain state-dict file, an `.npz` of released keys,
            or a mapping of key -> array.
        config: a preset name (`nted_fashion_256`, `nted_fashion_512`, `nted_tiny`), the
            released YAML's `gen.param` dict, or the whole released config (`gen: {param: ...}`).
        image_width: input width (default `size * 11 / 16`).
        **kwargs: passed to `NTEDGenerator` (e.g. `dtype`).

    Returns:
        The generator with the released weights.

    Raises:
        ValueError: if any released key is missing, unexpected or mis-shaped.

    Example:
    >>> generator = load_official_generator("epoch_00200_iteration_000495400_checkpoint.pt")  # doctest: +SKIP
    """
    gen_kwargs, name = _resolve_config(config, "generator")
    state = read_state_dict(source, "generator")
    model = NTEDGenerator(**gen_kwargs, image_width=image_width, **kwargs)
    return assign_released_weights(model, state, name)


def load_official_discriminator(source, config="nted_fashion_256", image_width=None, **kwargs):
    """Build an `NTEDDiscriminator` and load released weights (`net_D`) into it.

    Args:
        source: as for `load_official_generator`; `net_D` is read from training checkpoints.
        config: a preset name, the released YAML's `dis.param` dict, or the whole released config.
        image_width: input width (default `size * 11 / 16`).
        **kwargs: passed to `NTEDDiscriminator`.

    Returns:
        The discriminator with the released weights.

    Raises:
        ValueError: if any released key is missing, unexpected or mis-shaped.
    """
    dis_kwargs, name = _resolve_config(config, "discriminator")
    state = read_state_dict(source, "discriminator")
    model = NTEDDiscriminator(**dis_kwargs, image_width=image_width, **kwargs)
    return assign_released_weights(model, state, name)
