"""A scenario's sibling ``.safetensors`` weights file: where it may be, what it must hold.

Large models keep their weights next to the scenario in the format the field
exchanges them in, so a TransformerLens export can be used as it is. The name
in the scenario is resolved against the scenario's folder and may not leave
it: a shared lesson must not read arbitrary files from a student's disk. The
header is checked against ``model.config`` before any tensor is read.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ..engine.config import ModelConfig
from ..engine.weights import Weights
from .errors import ScenarioError
from .fields import describe, entry, expect_int, expect_keyed_object, expect_list, expect_object, expect_str
from .jsonfile import decode_utf8, parse_json_text, read_bytes
from .limits import MAX_PARAMS
from .model_block import axes_of, check_shape, missing_names

# safetensors dtype tag -> NumPy dtype, for the float types a model may use
FLOAT_DTYPES: dict[str, np.dtype] = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
# buffers a TransformerLens state dict carries that are not parameters
_IGNORED_SUFFIXES = (".attn.mask", ".attn.IGNORE", ".attn.rotary_sin", ".attn.rotary_cos")
_MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_WEIGHTS_FILE_BYTES = 8 * MAX_PARAMS + _MAX_HEADER_BYTES + 64 * 1024 * 1024  # float64 plus buffers


def resolve_weights_file(value: object, path: str, folder: Path | None) -> Path:
    """The file named by ``model.weights_file``, refused if it could escape ``folder``."""
    name = expect_str(value, path, non_empty=True)
    # Both spellings: a file written on Windows may use backslashes and drive letters.
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if "\x00" in name or posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        raise ScenarioError(path, f"expected a file name relative to the scenario's folder, got {describe(name)}")
    if ".." in windows.parts:
        detail = f"expected a file inside the scenario's folder, got {describe(name)} ('..' is not allowed)"
        raise ScenarioError(path, detail)
    if not name.lower().endswith(".safetensors"):
        raise ScenarioError(path, f"expected a .safetensors file, got {describe(name)}")
    if folder is None:
        raise ScenarioError(path, "a weights file can only be used by a scenario read from a file")
    target = folder.joinpath(*windows.parts)
    if not target.resolve().is_relative_to(folder.resolve()):
        raise ScenarioError(path, f"{describe(name)} leads outside the scenario's folder (through a symbolic link)")
    return target


def _in_file(exc: ScenarioError, path: str, file: Path) -> ScenarioError:
    """An error from reading ``file``, re-attributed to the JSON path that named it."""
    inner = f"{exc.path}: " if exc.path else ""
    return ScenarioError(path, f"{file.name}: {inner}{exc.detail}")


def _read_header(data: bytes, path: str, file: Path) -> dict[str, object]:
    if len(data) < 8:
        raise ScenarioError(path, f"{file.name}: not a safetensors file (too short)")
    size = int.from_bytes(data[:8], "little")
    if size > min(len(data) - 8, _MAX_HEADER_BYTES):
        raise ScenarioError(path, f"{file.name}: not a safetensors file (header length {size} exceeds the file)")
    try:
        header = parse_json_text(decode_utf8(data[8 : 8 + size]), max_depth=8)
        return expect_keyed_object(header, "header", what="a safetensors header object")
    except ScenarioError as exc:
        raise ScenarioError(path, f"{file.name}: not a safetensors file (header: {exc.detail})") from None


def _check_entries(header: dict[str, object], path: str, file: Path, config: ModelConfig) -> list[str]:
    """Check every tensor's name, dtype and shape in the header; return the parameter names."""
    names = []
    for name, spec in header.items():
        if name == "__metadata__" or name.endswith(_IGNORED_SUFFIXES):
            continue
        p = entry(path, name)
        axes = axes_of(name, p, config)
        try:
            info = expect_object(spec, "header", required=("dtype", "shape", "data_offsets"))
            tag = expect_str(info["dtype"], "dtype")
            dims = expect_list(info["shape"], "shape")
            shape = [expect_int(d, "shape", lo=0) for d in dims]
        except ScenarioError as exc:
            raise _in_file(exc, p, file) from None
        if tag not in FLOAT_DTYPES:
            raise ScenarioError(p, f"{file.name}: expected a float tensor ({', '.join(FLOAT_DTYPES)}), got {tag}")
        check_shape(p, shape, axes, config)
        names.append(name)
    return names


def read_weights_file(file: Path, path: str, config: ModelConfig) -> dict[str, np.ndarray]:
    """Parameters from a sibling safetensors file, checked against ``config`` before loading."""
    try:
        data = read_bytes(file, max_bytes=MAX_WEIGHTS_FILE_BYTES, what="weights file")
    except ScenarioError as exc:
        raise _in_file(exc, path, file) from None
    header = _read_header(data, path, file)
    names = _check_entries(header, path, file, config)
    for name in missing_names(dict.fromkeys(names), config):
        raise ScenarioError(entry(path, name), f"{file.name}: missing (model.config requires it)")
    try:
        from safetensors.numpy import load

        tensors = load(data)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a corrupt file, said with its name
        raise ScenarioError(path, f"{file.name}: corrupt safetensors file ({type(exc).__name__}: {exc})") from None
    params = {name: np.asarray(tensors[name]) for name in names}
    for name, arr in params.items():
        finite = np.isfinite(arr)
        if not finite.all():
            index = np.argwhere(~finite)[0].tolist()
            where = entry(path, name) + "".join(f"[{i}]" for i in index)
            raise ScenarioError(where, f"{file.name}: non-finite value {arr[tuple(index)]}")
    return params


def weights_file_bytes(weights: Weights) -> bytes:
    """The weights as safetensors bytes (dtypes kept as they are)."""
    from safetensors.numpy import save

    return save({name: np.ascontiguousarray(arr) for name, arr in weights.items()})
