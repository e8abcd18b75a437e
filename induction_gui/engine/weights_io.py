"""Model files: a folder (config.json + model.safetensors), a ``.safetensors`` or an ``.npz``.

A TransformerLens state dict alone does not say how to run it (LN or LNPre,
standard or shortformer positions, the attention scale): the config does. So
a ``.safetensors`` is read with its config from its own metadata (files this
app writes) or from a ``config.json`` beside it (files a notebook writes), and
refused without one rather than run with guessed options.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig, WeightsError
from .weights import _IGNORED_SUFFIXES, Weights

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TOKENIZER_NAME = "tokenizer.json"
# safetensors metadata key holding the TransformerLens config as JSON
CONFIG_METADATA_KEY = "tl_config"
# where the attention scale (not a parameter) was kept before configs travelled with the weights
_ATTN_SCALE_KEY = "config.attn_scale"
_NPZ_CONFIG_KEY = "config.tl_config"
CONFIG_SNIPPET = 'json.dump(model.cfg.to_dict(), open("config.json", "w"), default=str)'
# safetensors dtype tag -> how its bytes are read; BF16 is widened by hand (NumPy has no bfloat16)
_DTYPES = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "BF16": np.dtype("<u2")}
_MAX_HEADER_BYTES = 100 * 1024 * 1024


def model_files(path: Path) -> tuple[Path, Path | None]:
    """The weights file and the config.json that goes with it (None if there is none)."""
    if path.is_dir():
        weights = path / WEIGHTS_NAME
        if not weights.is_file():
            raise WeightsError(f"{path.name}: a model folder needs {WEIGHTS_NAME} (and {CONFIG_NAME})")
        config = path / CONFIG_NAME
        return weights, config if config.is_file() else None
    config = path.parent / CONFIG_NAME
    return path, config if config.is_file() else None


def read_tl_config(path: Path) -> ModelConfig:
    """A ``config.json`` holding a TransformerLens ``cfg.to_dict()`` dump."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path.name}: cannot read the config ({exc})") from None
    return ModelConfig.from_tl_dict(data)


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors (float16 and bfloat16 widened to float32) and the metadata of a ``.safetensors`` file."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise WeightsError(f"{path.name}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER_BYTES:
            raise WeightsError(f"{path.name}: not a safetensors file (header of {n} bytes)")
        try:
            header: dict[str, Any] = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WeightsError(f"{path.name}: not a safetensors file ({exc})") from None
        metadata = header.pop("__metadata__", None) or {}
        tensors: dict[str, np.ndarray] = {}
        for name, info in header.items():
            if name.endswith(_IGNORED_SUFFIXES):
                continue  # TransformerLens' buffers (causal mask, rotary tables), not parameters
            dtype = _DTYPES.get(info.get("dtype"))
            if dtype is None:
                raise WeightsError(f"{path.name}: {name}: dtype {info.get('dtype')} is not a float type")
            start, stop = info["data_offsets"]
            shape = tuple(info["shape"])
            count = (stop - start) // dtype.itemsize
            if count != int(np.prod(shape)):
                raise WeightsError(f"{path.name}: {name}: {stop - start} bytes do not hold shape {list(shape)}")
            f.seek(8 + n + start)
            arr = np.fromfile(f, dtype=dtype, count=count)
            if arr.size != count:
                raise WeightsError(f"{path.name}: {name}: the file ends early")
            if info["dtype"] == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)  # bfloat16 is float32's top half
            elif info["dtype"] == "F16":
                arr = arr.astype(np.float32)  # computed in float32, as TransformerLens' reference does
            tensors[name] = arr.reshape(shape)
    return tensors, metadata


# A config with no sizes: "the app's plain model", its sizes read from the arrays.
PLAIN_CONFIG = ModelConfig(0, 0, 0, 0, 0, 0)


def load_weights(path: str | os.PathLike[str], *, bare: ModelConfig | None = None) -> Weights:
    """Read a model folder, ``.safetensors`` or ``.npz`` (never pickled objects) and validate.

    ``bare`` is the config of a ``.safetensors`` without one, for callers who
    know where the file came from (the app's own checkpoints, written before
    files carried their config: :data:`PLAIN_CONFIG`); None refuses such a file.

    Raises
    ------
    WeightsError
        for an unreadable file, a missing config, a refused feature or invalid
        contents, with the file name in the message.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_dir() and suffix not in (".safetensors", ".npz"):
        raise WeightsError(f"{path.name}: unknown weights format {suffix!r} (use a model folder, .safetensors or .npz)")
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    try:
        if path.is_dir() or path.suffix.lower() == ".safetensors":
            weights_path, config_path = model_files(path)
            params, metadata = read_safetensors(weights_path)
            if config_path is not None:  # the file beside it, as a notebook wrote it (or a teacher edited it)
                config = read_tl_config(config_path)
            elif CONFIG_METADATA_KEY in metadata:  # the app's own file, alone
                config = ModelConfig.from_tl_dict(json.loads(metadata[CONFIG_METADATA_KEY]))
            elif _ATTN_SCALE_KEY in metadata:  # the app's files before configs travelled with them
                text = metadata[_ATTN_SCALE_KEY]
                config = replace(PLAIN_CONFIG, attn_scale=None if text in ("", "None") else float(text))
            elif bare is not None:
                config = bare
            else:
                raise WeightsError(
                    f"{weights_path.name}: no config: a state dict alone does not say how to run the model "
                    f"(LN or LNPre, positions, attention scale). Save {CONFIG_NAME} beside it: {CONFIG_SNIPPET}"
                )
        elif path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                params = {k: data[k] for k in data.files}
            config_text = params.pop(_NPZ_CONFIG_KEY, None)
            scale_arr = params.pop(_ATTN_SCALE_KEY, None)
            if config_text is not None:
                config = ModelConfig.from_tl_dict(json.loads(str(config_text)))
            else:
                scale = None if scale_arr is None else float(np.asarray(scale_arr).reshape(-1)[0])
                config = replace(PLAIN_CONFIG, attn_scale=scale)
        else:
            raise WeightsError(f"{path.name}: unknown weights format {path.suffix!r} (use .safetensors or .npz)")
    except WeightsError as exc:
        raise WeightsError(str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file, said with its name
        raise WeightsError(f"{path.name}: cannot read weights ({type(exc).__name__}: {exc})") from None
    declared = None if config.n_layers == 0 else config
    try:
        # the reader's arrays are referenced nowhere else
        return Weights(params, attn_scale=config.attn_scale, config=declared)._owned()
    except WeightsError as exc:
        raise WeightsError(f"{path.name}: {exc}") from None


def stored_config(weights: Weights) -> ModelConfig:
    """The config as written to files: the dtype is the arrays' own."""
    dtype = np.dtype(weights["embed.W_E"].dtype if "embed.W_E" in weights else np.float32).name
    return replace(weights.config, dtype=dtype)


def save_weights(weights: Weights, path: str | os.PathLike[str]) -> None:
    """Write ``.safetensors`` (config as JSON in its metadata) or ``.npz`` atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".safetensors", ".npz"):
        raise WeightsError(f"{path.name}: unknown weights format {suffix!r} (use .safetensors or .npz)")
    config_json = json.dumps(stored_config(weights).to_tl_dict())
    # a unique temporary name: two saves at once never write the same file
    fd, tmp_name = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    arrays = {k: np.ascontiguousarray(v) for k, v in weights._params.items()}  # noqa: SLF001 - no exposure
    scale = weights.attn_scale
    try:
        if suffix == ".safetensors":
            from safetensors.numpy import save_file

            metadata = {CONFIG_METADATA_KEY: config_json}
            if scale is not None:
                metadata[_ATTN_SCALE_KEY] = repr(scale)
            save_file(arrays, str(tmp), metadata=metadata)
        else:
            if scale is not None:
                arrays[_ATTN_SCALE_KEY] = np.array([scale])
            arrays[_NPZ_CONFIG_KEY] = np.array(config_json)
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        _usual_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        # a failed save leaves the previous file as it was and no debris
        tmp.unlink(missing_ok=True)
        raise


def _usual_permissions(path: Path) -> None:
    """A file as ``open`` would create it (0666 less the umask): mkstemp's is private (0600), and a model
    folder or checkpoint is meant to be shared (another account, a classroom share, a TransformerLens notebook)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def save_model_folder(weights: Weights, folder: str | os.PathLike[str]) -> Path:
    """``folder/config.json`` (TransformerLens' ``cfg.to_dict()`` keys) + ``folder/model.safetensors``.

    In float32, TransformerLens' default dtype, so that ``HookedTransformerConfig.from_dict``
    reads the config as it is (it cannot parse a dtype from JSON).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = weights.astype(np.float32)
    save_weights(weights, folder / WEIGHTS_NAME)
    text = json.dumps(stored_config(weights).to_tl_dict(), indent=2) + "\n"
    tmp = folder / f".{CONFIG_NAME}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / CONFIG_NAME)
    return folder
