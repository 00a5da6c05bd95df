"""Where the generator's forward time goes: every layer timed alone, grouped by kind.

Each layer of `NTEDGenerator` (a functional model) is called on random inputs of the
shapes it receives in the model, compiled the way the backend compiles a model (JAX:
`jax.jit` of its stateless call; TensorFlow: `tf.function`, with XLA only on a GPU; torch:
eager under `no_grad`), and timed (median of `--repeats`). The table lists the layer kinds
by total time, with the share of the whole model's forward measured in the same run and
the GFLOP/s of the convolutions; `--top N` lists the slowest single layers. The same
harness runs on every backend, so their columns compare directly.

Usage:
    KERAS_BACKEND=jax python benchmarks/profile_layers.py                 # nted_fashion_256, batch 1
    KERAS_BACKEND=torch python benchmarks/profile_layers.py --batch-size 4 --top 15

For an operation-level view inside one backend, use its own profiler (commands in
benchmarks/README.md).
"""

import argparse
import collections
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compiled(layer):
    """`f(*args)` running `layer` as a compiled model would, returning host arrays."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        @jax.jit
        def run(*args):
            return layer.stateless_call(trainable, non_trainable, *args)[0]

        return lambda *args: jax.block_until_ready(run(*args))
    if backend == "tensorflow":
        import tensorflow as tf

        # As keras compiles a model on TensorFlow: XLA with a GPU, plain tf.function on a CPU
        # (timing layers under XLA on a CPU made the depthwise blur look 5x slower than it is).
        xla = bool(tf.config.list_physical_devices("GPU"))
        run = tf.function(lambda *args: layer(*args), jit_compile=xla)
        return lambda *args: keras.tree.map_structure(lambda t: t.numpy(), run(*args))
    import torch

    def run(*args):
        with torch.no_grad():
            return layer(*args)

    return run


def compiled_backward(layer, args):
    """`f()` running `layer` forward and its gradients w.r.t. its weights and float inputs."""
    import keras
    from keras import ops

    from keras_nted.backend import autodiff

    flat = keras.tree.flatten(args)
    inputs = [keras.Variable(a) for a in flat]

    def loss():
        values = keras.tree.pack_sequence_as(args, [v.value for v in inputs])
        outputs = keras.tree.flatten(layer(*values))
        return sum(ops.mean(ops.cast(o, "float32")) for o in outputs), None

    step = autodiff.compiled_value_and_grad(loss, list(layer.trainable_variables) + inputs)

    def run():
        _, _, grads = step()
        return [keras.ops.convert_to_numpy(g[..., :1]) for g in grads if g is not None and len(g.shape)]

    return run


def median_time(function, args, repeats):
    function(*args)  # compile / warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def conv_flops(layer, inputs):
    """Multiply-add FLOPs (2 per MAC) of a convolution or dense layer, else 0."""
    import keras

    kernel = getattr(layer, "kernel", None)
    if not isinstance(kernel, keras.Variable):
        return 0.0
    shape = keras.tree.flatten(inputs)[0].shape
    out = layer.compute_output_shape(shape)
    if type(layer).__name__ == "EqualizedConv2DTranspose":
        positions = np.prod(shape[:-1])  # every input pixel meets every tap
    else:
        positions = np.prod(out[:-1])
    return 2.0 * positions * np.prod(kernel.shape)


def layer_calls(model, batch_size, rng):
    """`(layer, random inputs)` for every layer of a functional model, in call order."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        node = layer._inbound_nodes[0]

        def fill(t):
            shape = (batch_size, *t.shape[1:])
            return keras.ops.convert_to_tensor(rng.standard_normal(shape).astype(t.dtype))

        yield layer, [keras.tree.map_structure(fill, a) for a in node.arguments.args]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="nted_fashion_256")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=10, help="also list the N slowest single layers")
    parser.add_argument(
        "--backward", action="store_true", help="time forward + gradients (weights and inputs) instead of the forward"
    )
    args = parser.parse_args(argv)

    import keras

    from keras_nted.models import NTEDGenerator

    rng = np.random.default_rng(0)
    model = NTEDGenerator.from_preset(args.preset)
    inputs = [rng.uniform(-1, 1, (args.batch_size, *t.shape[1:])).astype("float32") for t in model.inputs]
    whole = median_time(compiled(model), [[keras.ops.convert_to_tensor(x) for x in inputs]], args.repeats)

    by_kind = collections.defaultdict(lambda: [0.0, 0.0, 0])
    rows = []
    for layer, layer_args in layer_calls(model, args.batch_size, rng):
        if args.backward:
            seconds = median_time(compiled_backward(layer, layer_args), [], args.repeats)
        else:
            seconds = median_time(compiled(layer), layer_args, args.repeats)
        flops = conv_flops(layer, layer_args) * (3 if args.backward else 1)
        kind = by_kind[type(layer).__name__]
        kind[0] += seconds
        kind[1] += flops
        kind[2] += 1
        rows.append((seconds, flops, layer.name, tuple(keras.tree.flatten(layer_args)[0].shape)))

    total = sum(k[0] for k in by_kind.values())
    print(
        f"{keras.backend.backend()}: {args.preset} batch {args.batch_size}, "
        f"{'forward + gradients' if args.backward else 'forward'}; whole model forward {whole * 1e3:.1f} ms, "
        f"layers alone {total * 1e3:.1f} ms"
    )
    print(f"{'layer kind':28s} {'count':>5s} {'ms':>9s} {'% model':>8s} {'GFLOP/s':>8s}")
    for name, (seconds, flops, count) in sorted(by_kind.items(), key=lambda item: -item[1][0]):
        rate = f"{flops / seconds / 1e9:8.1f}" if flops else f"{'':8s}"
        print(f"{name:28s} {count:5d} {seconds * 1e3:9.2f} {100 * seconds / whole:7.1f}% {rate}")
    if args.top:
        print(f"\nslowest {args.top} layers")
        for seconds, flops, name, shape in sorted(rows, key=lambda r: -r[0])[: args.top]:
            rate = f"{flops / seconds / 1e9:7.1f} GFLOP/s" if flops else ""
            print(f"  {seconds * 1e3:8.2f} ms  {name:52s} in {shape}  {rate}")


if __name__ == "__main__":
    main()
