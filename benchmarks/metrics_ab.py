"""Before/after images/s of FID's Inception and LPIPS in one process: this tree's networks against a git revision's.

Loads `keras_nted/metrics/inception.py` and `lpips.py` as they were at `--before` (`git show`)
into modules of their own (their imports resolve to this tree), builds both versions of each
network with the same seeded weights (the test suite's, in the state-dict layouts the loaders
take; LPIPS with lpips' v0.1 lin layers from tests/fixtures), prints the largest difference of
their outputs, and times `predict_on_batch` on `--batch-size` random 256x176 images (pairs for
LPIPS) alternately, before/after then after/before, for `--rounds` rounds after one untimed
call each, so that both versions see the same state of a shared machine. Prints the median
images/s of each and the speed-up (the ratio of the medians).

Usage (from the repository root):
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/metrics_ab.py --before 5a7ee88
    PYTHONPATH=. python benchmarks/metrics_ab.py --all-backends --before 5a7ee88 --rounds 6
"""

import argparse
import functools
import importlib.util
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from benchmark_utils import run_backends

BACKENDS = ("tensorflow", "jax", "torch")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="git revision of the networks to compare against")
    parser.add_argument("--networks", nargs="+", default=["inception", "lpips-alex"], choices=NETWORKS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="timed calls of each version (alternating)")
    parser.add_argument("--all-backends", action="store_true", help="run each backend in a subprocess")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--json", action="store_true", help="print one JSON line of results")
    return parser.parse_args(argv)


def module_at(revision, path, directory):
    """The module `path` as it was at `revision`, imported under a name of its own."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True).stdout
    name = f"before_{pathlib.Path(path).stem}"
    file = pathlib.Path(directory) / f"{name}.py"
    file.write_bytes(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inception_pair(revision, directory):
    from keras_nted.metrics import inception
    from tests.metrics.conftest import INCEPTION_FIXTURE
    from tests.metrics.conftest import fixture_state_dict

    with np.load(INCEPTION_FIXTURE) as data:
        state_dict = fixture_state_dict(dict(data), "field")
    before = module_at(revision, "keras_nted/metrics/inception.py", directory)
    return before.inception_v3("field", weights=state_dict), inception.inception_v3("field", weights=state_dict), 1


def lpips_pair(net, revision, directory):
    from keras_nted.metrics import lpips
    from tests.metrics.seeded_weights import seeded_backbone

    before = module_at(revision, "keras_nted/metrics/lpips.py", directory)
    lin = ROOT / "tests" / "fixtures" / "metrics" / "lpips_v0.1" / f"{net}.pth"
    models = [
        module.LPIPS(net, backbone_weights=seeded_backbone(net, 11), lin_weights=lin) for module in (before, lpips)
    ]
    return *models, 2


NETWORKS = {
    "inception": inception_pair,
    "lpips-alex": functools.partial(lpips_pair, "alex"),
    "lpips-vgg": functools.partial(lpips_pair, "vgg"),
}


def compare(network, args, directory):
    import keras

    before, after, inputs = NETWORKS[network](args.before, directory)
    rng = np.random.default_rng(0)
    images = [rng.random((args.batch_size, 256, 176, 3), dtype=np.float32) for _ in range(inputs)]
    images = images[0] if inputs == 1 else images
    outputs = [keras.ops.convert_to_numpy(model.predict_on_batch(images)) for model in (before, after)]
    times = {"before": [], "after": []}
    for round_index in range(args.rounds):
        order = ("before", "after") if round_index % 2 == 0 else ("after", "before")
        for name in order:
            model = before if name == "before" else after
            start = time.perf_counter()
            keras.ops.convert_to_numpy(model.predict_on_batch(images))
            times[name].append(time.perf_counter() - start)
    rates = {name: args.batch_size / statistics.median(values) for name, values in times.items()}
    return {
        "backend": keras.backend.backend(),
        "network": network,
        "batch": args.batch_size,
        "before_images_per_s": rates["before"],
        "after_images_per_s": rates["after"],
        "speedup": rates["after"] / rates["before"],
        "max_difference": float(np.abs(outputs[1] - outputs[0]).max() / np.abs(outputs[0]).max()),
    }


def print_table(results, revision):
    print(f"\nbefore: {revision}, after: this tree; medians of alternating timed calls, same process")
    print(
        f"{'backend':<11}{'network':<12}{'batch':>6}{'before img/s':>14}{'after img/s':>13}"
        f"{'speed-up':>10}{'max rel diff':>14}"
    )
    for r in results:
        print(
            f"{r['backend']:<11}{r['network']:<12}{r['batch']:>6}{r['before_images_per_s']:>14.2f}"
            f"{r['after_images_per_s']:>13.2f}{r['speedup']:>10.2f}{r['max_difference']:>14.1e}"
        )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.all_backends:
        runs = run_backends(__file__, argv, args.backends, lambda message: print(message, file=sys.stderr, flush=True))
        print_table([r for run in runs if run is not None for r in run], args.before)
        return
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as directory:
        results = [compare(network, args, directory) for network in args.networks]
    print(json.dumps(results) if args.json else "")
    if not args.json:
        print_table(results, args.before)


if __name__ == "__main__":
    main()
