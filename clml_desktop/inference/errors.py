"""The one exception family of the inference side.

A model folder comes from the user's disk (or someone else's), so a broken
manifest, a missing file or a model that disagrees with its own manifest is an
expected condition: callers catch `InferenceError` and show its message, which
always names the file and the problem.
"""

from __future__ import annotations


class InferenceError(Exception):
    """Something the inference side cannot do; the message is for people."""


class ModelLoadError(InferenceError):
    """A model folder that cannot be used: missing or malformed manifest or ONNX file."""


class TagMismatchError(ModelLoadError):
    """The ONNX outputs disagree with the manifest's tag list, or no tag maps at all."""
