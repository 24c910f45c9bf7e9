"""Datasets: registry of specs, original-file sources and parsers, a prepared tensor file, splits and batches."""

from neft.core.data.loader import Preprocess, Split, make_splits, preprocess_all
from neft.core.data.prepare import load_prepared, prepare_dataset
from neft.core.data.registry import DatasetError, DatasetSpec, get_spec, merged_registry

__all__ = [
    "DatasetError",
    "DatasetSpec",
    "Preprocess",
    "Split",
    "get_spec",
    "load_prepared",
    "make_splits",
    "merged_registry",
    "prepare_dataset",
    "preprocess_all",
]
