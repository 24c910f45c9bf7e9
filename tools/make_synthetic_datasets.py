"""Write small synthetic CIFAR-10, CIFAR-100 and Tiny ImageNet archives in the original file formats (for the
paper-smoke preset on machines that cannot download the real ones; see neft.core.data.synthetic).

Usage: python tools/make_synthetic_datasets.py OUT_DIR [--config-fragment FILE] [--seed N] [size options]
Prints "<md5>  <archive>" per archive (the format of md5sum); --config-fragment writes the `datasets:` entries
that point the workflow at them.
"""

from __future__ import annotations

import argparse
import sys

import yaml

from neft.core.data.synthetic import DATASETS, DEFAULT_SIZES, config_fragment, write_all
from neft.util.io import atomic_write_text

_OPTIONS = {  # flag -> (dataset, writer argument)
    "cifar10-train": ("cifar10", "train_per_class"),
    "cifar10-test": ("cifar10", "test_per_class"),
    "cifar100-train": ("cifar100", "train_per_class"),
    "cifar100-test": ("cifar100", "test_per_class"),
    "tiny-train": ("tiny_imagenet", "train_per_class"),
    "tiny-val": ("tiny_imagenet", "val_per_class"),
    "tiny-test": ("tiny_imagenet", "test_images"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", help="folder to write the archives into (created if missing)")
    ap.add_argument("--config-fragment", metavar="FILE", help="also write the datasets: config entries as YAML")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--datasets", default=",".join(DATASETS), help=f"comma-separated subset of {','.join(DATASETS)} (default all)"
    )
    for flag, (name, arg) in _OPTIONS.items():
        unit = "images" if arg == "test_images" else "images per class"
        ap.add_argument(f"--{flag}", type=int, default=DEFAULT_SIZES[name][arg], help=f"{unit} (default %(default)s)")
    a = ap.parse_args(argv)
    sizes: dict[str, dict] = {}
    for flag, (name, arg) in _OPTIONS.items():
        sizes.setdefault(name, {})[arg] = getattr(a, flag.replace("-", "_"))
    names = [n.strip() for n in a.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset(s) {', '.join(unknown)}; allowed: {', '.join(DATASETS)}")
    result = write_all(a.out_dir, seed=a.seed, sizes=sizes, datasets=names)
    for r in result.values():
        print(f"{r['md5']}  {r['path'] / r['file']}")
    if a.config_fragment:
        header = f"# Written by tools/make_synthetic_datasets.py {a.out_dir} (seed {a.seed}): synthetic stand-ins.\n"
        atomic_write_text(a.config_fragment, header + yaml.safe_dump(config_fragment(result), sort_keys=False))
        print(f"config fragment: {a.config_fragment}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
