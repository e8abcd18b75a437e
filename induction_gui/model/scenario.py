"""A scenario: tokens, model weights and settings, and the file format teachers write.

A scenario is everything a lesson needs to reproduce one picture: the
vocabulary and sequence, the model, the lecture's per-head experiments, and
where the view was looking. It is saved as a versioned JSON document (by
convention ``*.induction.json``; presets are ``resources/scenarios/<name>.json``).

The file format (version 1)
---------------------------
A JSON object, UTF-8. Unknown fields are errors (a typo should not be ignored)::

    {
      "format": "induction-gui.scenario",     required, exactly this
      "version": 1,                           required; newer versions are refused
      "title": "Induction by hand",           required, one line
      "description": "Two layers, ...",       one line, shown by `induction-gui presets`
      "notes": "Free text for the lesson.",   any text
      "tokenizer": "words",                   "words" (words and punctuation marks) or "chars"
      "tokenizer_file": "s.tokenizer.json",   optional: a model's own Hugging Face tokenizer.json beside
                                              the file; typed text (and "text") goes through it
      "vocab": ["<bos>", "the", "cat"],       required: distinct non-empty strings,
                                              one per token id, as many as d_vocab
      "bos": 0,                               id of the start token, or null / absent
      "tokens": [0, 1, 2, 1, 2],              token ids ...
      "text": "<bos> the cat the cat",        ... or text, tokenized as the window does (one of the two)
      "seed": 0,                              integer ≥ 0 for anything random
      "view": {"layer": 1, "head": 0, "query_pos": 4, "colormap": "viridis", "show_values": false},
      "overrides": {                          per head, only what differs from softmax attention
        "L0H0": {"fixed_pattern": [[0, 0], [1, 0]]},
        "L1H0": {"normalization": "linear", "eps": 1e-8, "key_shift": 1,
                 "score_scale": 1.0, "ablation": null}
      },
      "model": {                              required
        "config": {"n_layers": 2, "n_heads": 1, "d_model": 8, "d_head": 4,
                   "d_vocab": 3, "n_ctx": 16, "attn_scale": null,
                   "normalization_type": "LN"},     forward-pass options: only those not plain
        "dtype": "float32",                   of inline weights: float32 (default), float64, float16
        "weights": {"embed.W_E": [[...], ...], "blocks.0.attn.W_Q": [[[...]]], ...}
      }
    }

Details:

* ``model.weights`` maps TransformerLens parameter names to nested lists of
  the shapes the engine uses (``embed.W_E`` [d_vocab, d_model],
  ``blocks.{l}.attn.W_Q`` [n_heads, d_model, d_head], ...). Biases may be left
  out (they are zero). Instead of ``weights`` a large model names a sibling
  file, ``"weights_file": "lesson.safetensors"``, relative to the scenario's
  folder (absolute paths and ``..`` are refused). ``model.config`` must agree
  with every shape; ``attn_scale`` (null = sqrt(d_head)) is optional.
* ``model.config`` also states how a TransformerLens model runs, with its
  names and only where it differs from the app's plain model (no
  normalisation, positions added to the residual, q·k / sqrt(d_head)):
  ``normalization_type`` (null | "LN" | "LNPre" | "RMS" | "RMSPre"; LN adds
  ``blocks.{l}.ln1.w|b`` and ``ln_final.w|b``, RMS only the ``w``),
  ``positional_embedding_type`` ("standard" | "shortformer" | "rotary", which
  has no ``pos_embed.W_pos``), ``rotary_dim``, ``rotary_base``,
  ``rotary_adjacent_pairs``, ``use_attn_scale``, ``eps``, ``d_vocab_out`` (the
  width of ``unembed.W_U``) and ``default_prepend_bos``. They are checked by
  the rules of a TransformerLens ``config.json``; a feature the engine does
  not compute (``"use_qk_norm": true``, ...) is refused by name. The options
  live here whether the weights are inline or in a weights file, so the JSON
  is the one place that says how the model runs; the app's own models write
  none of them, so their files read as they always did, and an older app
  refuses a file that has them (an unknown field) rather than compute other
  numbers.
* Numbers must be finite: ``NaN``, ``Infinity`` and overflowing literals such
  as ``1e999`` are refused, as are weights outside the float32 range. True and
  false are not numbers. Floats are written with enough digits to read back
  bit for bit.
* Override fields: ``normalization`` ("softmax" | "linear"), ``eps`` (≥ 0),
  ``fixed_pattern`` (square, at least as large as the sequence, at most
  n_ctx), ``key_shift`` (0 ≤ s < n_ctx), ``score_scale``, ``ablation``
  (null | "zero" | "mean"), each declared once (type, range, default,
  meaning) in :data:`~induction_gui.engine.override_schema.OVERRIDE_PARAMS`.
* ``view`` fields (all optional): ``layer``, ``head``, ``query_pos`` (existing
  indices), ``colormap`` (one of :data:`COLORMAPS`), ``show_values`` (bool),
  ``exclude_bos`` (bool, default true: whether every detector score the window
  shows ignores attention to position 0), ``markov_chain`` (k rows of k
  probabilities, 2 ≤ k ≤ 8, each row summing to 1: the chain the "Markov chain"
  generator draws from; absent, a default chain).
* Limits (refused before anything is allocated): files up to 200 MB,
  brackets nested at most 64 deep, at most 50 million parameters.

Every problem raises :class:`ScenarioError` naming the JSON path, e.g.
``model.weights["blocks.0.attn.W_Q"]: expected shape [2, 8, 4] ([n_heads,
d_model, d_head] from model.config), got [2, 8]``.

Older format versions are upgraded on load by :data:`MIGRATIONS`; saving
always writes the current version.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from ..engine.weights import Weights as Weights  # a scenario's model; the window names the type from here
from ..resources import ResourceError, preset_names, preset_path
from .errors import ScenarioError
from .fields import expect_choice, expect_list, expect_object, expect_str
from .header import FileKind, Migration, read_header
from .jsonfile import dumps_pretty, parse_json_text, read_json_file, replace_all, write_temp
from .limits import INLINE_MAX_PARAMS
from .model_block import (
    build_weights,
    config_to_json,
    inline_weights_to_json,
    parameter_count,
    parse_config,
    parse_dtype,
    parse_inline_weights,
)
from .overrides import overrides_to_json, parse_overrides
from .scenario_object import COLORMAPS, VIEW_FIELDS, Scenario, check_vocab  # the object; names kept importable here
from .tokenizer import TOKENIZERS, HFTokenizer, tokenize
from .weights_file import read_weights_file, resolve_weights_file, weights_file_bytes

FORMAT = "induction-gui.scenario"
CURRENT_VERSION = 1
# version v -> function turning a version-v document into a version-(v + 1) one.
# Empty while version 1 is the only one; add an entry with every format change.
MIGRATIONS: dict[int, Migration] = {}
_TOP_REQUIRED = ("format", "version", "title", "vocab", "model")
_TOP_OPTIONAL = ("description", "notes", "tokenizer", "tokenizer_file", "bos", "tokens", "text", "seed", "view",
                 "overrides")


# -- documents -----------------------------------------------------------------------
def _migrate(doc: object) -> dict[str, Any]:
    """Check the format tag and version; bring an older document up to the current version."""
    kind = FileKind(FORMAT, CURRENT_VERSION, "file", "is this an Induction Head Explorer scenario?", MIGRATIONS)
    return read_header(doc, kind)


def _parse_model(value: object, folder: Path | None) -> tuple[Weights, float | None]:
    """The model block's weights and attention scale."""
    obj = expect_object(value, "model", required=("config",), optional=("dtype", "weights", "weights_file"))
    config = parse_config(obj["config"], "model.config")
    if "weights" in obj and "weights_file" in obj:
        raise ScenarioError("model.weights_file", 'give either inline "weights" or a "weights_file", not both')
    if "weights_file" in obj:
        if "dtype" in obj:
            raise ScenarioError("model.dtype", "only for inline weights (a weights file stores its own dtypes)")
        file = resolve_weights_file(obj["weights_file"], "model.weights_file", folder)
        params = read_weights_file(file, "model.weights_file", config)
    elif "weights" in obj:
        dtype = parse_dtype(obj.get("dtype", "float32"), "model.dtype")
        params = parse_inline_weights(obj["weights"], "model.weights", config, dtype)
    else:
        raise ScenarioError("model.weights", 'missing (give inline "weights" or a "weights_file")')
    return build_weights(params, "model.weights", config), config.attn_scale


def scenario_from_json(doc: object, *, folder: Path | None = None) -> Scenario:
    """A Scenario from a parsed JSON document.

    Parameters
    ----------
    doc
        the document, as ``json.loads`` (or the strict reader) returns it.
    folder
        where a ``weights_file`` is looked for; None refuses weights files.
    """
    doc = _migrate(doc)
    obj = expect_object(doc, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)
    tokenizer = expect_choice(obj.get("tokenizer", "words"), "tokenizer", TOKENIZERS)
    vocab = check_vocab(obj["vocab"], None)
    from_text = "text" in obj
    if from_text and "tokens" in obj:
        raise ScenarioError("text", 'give either "tokens" or "text", not both')
    if from_text and "tokenizer_file" in obj:
        tokens: object = []  # the model's own tokenizer encodes the text below, once it is read
    elif from_text:
        tokens = tokenize(expect_str(obj["text"], "text"), vocab, tokenizer)  # type: ignore[arg-type]
    elif "tokens" in obj:
        tokens = expect_list(obj["tokens"], "tokens", what="a list of token ids")
    else:
        raise ScenarioError("tokens", 'missing (give token ids as "tokens" or the sequence as "text")')
    weights, attn_scale = _parse_model(obj["model"], folder)
    overrides = parse_overrides(obj.get("overrides", {}), "overrides")
    hf = _read_tokenizer_file(obj, folder, weights.config.default_prepend_bos)
    if hf is not None and from_text:
        tokens = hf.encode(expect_str(obj["text"], "text"))  # [pos] the model's own tokenizer, as typed text
    try:
        return Scenario(
            title=obj["title"],  # type: ignore[arg-type]
            description=obj.get("description", ""),  # type: ignore[arg-type]
            notes=obj.get("notes", ""),  # type: ignore[arg-type]
            tokenizer=tokenizer,  # type: ignore[arg-type]
            vocab=vocab,
            bos=obj.get("bos"),  # type: ignore[arg-type]
            tokens=tokens,  # type: ignore[arg-type]
            seed=obj.get("seed", 0),  # type: ignore[arg-type]
            view=obj.get("view", {}),  # type: ignore[arg-type]
            overrides=overrides,
            weights=weights,
            attn_scale=attn_scale,
            hf_tokenizer=hf,
        )
    except ScenarioError as exc:
        if from_text and exc.path == "tokens":  # the sequence came from "text"; point there
            raise ScenarioError("text", exc.detail) from None
        raise


def _read_tokenizer_file(obj: dict, folder: Path | None, prepend_bos: bool) -> HFTokenizer | None:
    """The model's own tokenizer named by ``"tokenizer_file"`` (a sibling ``tokenizer.json``), or None."""
    if "tokenizer_file" not in obj:
        return None
    if folder is None:
        raise ScenarioError("tokenizer_file", "a tokenizer file needs the scenario's folder (open the file itself)")
    name = expect_str(obj["tokenizer_file"], "tokenizer_file")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise ScenarioError("tokenizer_file", f"{name}: expected a tokenizer.json file beside the scenario")
    try:
        hf = HFTokenizer.from_file(path, prepend_bos=prepend_bos)
    except ScenarioError as exc:
        raise ScenarioError("tokenizer_file", exc.detail) from None
    bos = obj.get("bos")
    if isinstance(bos, int) and not isinstance(bos, bool):
        hf.bos_id = bos  # the start token the scenario names
    return hf


def scenario_to_json(scenario: Scenario, *, weights_file: str | None = None) -> dict[str, object]:
    """The JSON document of ``scenario``; weights inline unless ``weights_file`` names the sibling."""
    doc: dict[str, object] = {
        "format": FORMAT,
        "version": CURRENT_VERSION,
        "title": scenario.title,
        "description": scenario.description,
        "notes": scenario.notes,
        "tokenizer": scenario.tokenizer,
        "vocab": list(scenario.vocab),
    }
    if scenario.bos is not None:
        doc["bos"] = int(scenario.bos)
    text = scenario.text() if scenario.hf_tokenizer is None else None  # a model's own tokenizer: keep the ids
    if text is not None:
        doc["text"] = text  # readable, and it tokenizes back to exactly these ids
    else:
        doc["tokens"] = scenario.tokens.tolist()
    doc["seed"] = int(scenario.seed)
    if scenario.view:
        doc["view"] = dict(scenario.view)
    if scenario.overrides:
        doc["overrides"] = overrides_to_json(scenario.overrides)
    model: dict[str, object] = {"config": config_to_json(scenario.weights, scenario.attn_scale)}
    if weights_file is None:
        dtype, weights = inline_weights_to_json(scenario.weights)
        if dtype != "float32":
            model["dtype"] = dtype
        model["weights"] = weights
    else:
        model["weights_file"] = weights_file
    doc["model"] = model
    return doc


# -- files ----------------------------------------------------------------------------
def loads_scenario(text: str, *, folder: str | os.PathLike[str] | None = None) -> Scenario:
    """A Scenario from JSON text (e.g. pasted); ``folder`` resolves a ``weights_file``."""
    try:
        return scenario_from_json(parse_json_text(text), folder=None if folder is None else Path(folder))
    except ScenarioError:
        raise
    except (ValueError, TypeError, ArithmeticError, LookupError, RecursionError, MemoryError) as exc:
        # a last net: the contract is that a bad document only ever raises ScenarioError
        raise ScenarioError("", f"cannot read the scenario ({type(exc).__name__}: {exc})") from None


def dumps_scenario(scenario: Scenario) -> str:
    """The scenario as JSON text with inline weights."""
    scenario.validate()
    return dumps_pretty(scenario_to_json(scenario)) + "\n"


def _is_preset_name(name: str) -> bool:
    return "/" not in name and "\\" not in name and os.sep not in name and not name.lower().endswith(".json")


def _locate(name_or_path: str | os.PathLike[str]) -> Path:
    """The file a bare preset name or a path refers to."""
    if isinstance(name_or_path, str) and _is_preset_name(name_or_path):
        try:
            return preset_path(name_or_path)
        except ResourceError as exc:
            if Path(name_or_path).is_file():  # a file without suffix in the current folder
                return Path(name_or_path)
            raise ScenarioError("", str(exc), file=name_or_path) from None
    return Path(name_or_path)


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file or a bundled preset.

    Parameters
    ----------
    name_or_path
        a preset name (no folder, no ``.json`` suffix: ``"induction"`` reads
        ``resources/scenarios/induction.json``) or the path of a scenario file.

    Raises
    ------
    ScenarioError
        for every problem, prefixed with the file name and naming the JSON path.
    """
    path = _locate(name_or_path)
    try:
        return scenario_from_json(read_json_file(path), folder=path.parent)
    except ScenarioError as exc:
        raise exc.in_file(path.name) from None
    except (ValueError, TypeError, ArithmeticError, LookupError, RecursionError, MemoryError) as exc:
        raise ScenarioError("", f"cannot read the scenario ({type(exc).__name__}: {exc})", file=path.name) from None


def save_scenario(scenario: Scenario, path: str | os.PathLike[str], *, inline: bool | None = None) -> None:
    """Write ``scenario`` to ``path`` atomically.

    Parameters
    ----------
    scenario
        validated again before anything is written, so no file is produced
        that :func:`load_scenario` would refuse.
    path
        the JSON file; a sibling ``<stem>.safetensors`` holds the weights when not inline.
    inline
        True writes the weights into the JSON, False into the sibling file;
        None (default) inlines models of up to 20,000 parameters.

    Raises
    ------
    ScenarioError
        if the scenario is invalid; ``OSError`` if the folder cannot be written.
        Either way the previous files are left as they were.
    """
    if not isinstance(scenario, Scenario):
        raise ScenarioError("", f"expected a Scenario, got {type(scenario).__name__}")
    path = Path(path)
    scenario.validate()
    if inline is None:
        inline = parameter_count(scenario.weights.config) <= INLINE_MAX_PARAMS
    sibling = path.with_suffix(".safetensors")
    if not inline and sibling == path:
        raise ScenarioError("", f"{path.name}: a scenario file cannot end in .safetensors")
    doc = scenario_to_json(scenario, weights_file=None if inline else sibling.name)
    tokenizer_path = path.with_suffix(".tokenizer.json")
    if scenario.hf_tokenizer is not None:  # the model's own tokenizer travels beside the scenario
        doc["tokenizer_file"] = tokenizer_path.name
    text = dumps_pretty(doc) + "\n"
    moves: list[tuple[Path, Path]] = []
    try:
        if not inline:
            moves.append((write_temp(sibling, weights_file_bytes(scenario.weights)), sibling))
        if scenario.hf_tokenizer is not None:
            moves.append((write_temp(tokenizer_path, scenario.hf_tokenizer.to_json_bytes()), tokenizer_path))
        moves.append((write_temp(path, text.encode("utf-8")), path))
    except BaseException:
        for tmp, _ in moves:
            tmp.unlink(missing_ok=True)
        raise
    replace_all(moves)


class PresetInfo(NamedTuple):
    """What a list of presets shows: the human title, with the description and file stem as details."""

    name: str  # the file stem: `induction-gui --preset NAME`, lessons and tests use it
    title: str  # the scenario's title, what menus show
    description: str  # one line; the reason instead when the file cannot be read


def preset_infos() -> list[PresetInfo]:
    """Name, title and description of every bundled preset, sorted by name.

    Only the header fields are read, so listing stays fast with large presets; a
    preset that cannot be read is listed under its name, with the reason as description.
    """
    out = []
    for name in preset_names():
        try:
            doc = read_json_file(preset_path(name))
        except ScenarioError as exc:
            out.append(PresetInfo(name, name, f"(unreadable: {exc.detail})"))
            continue
        doc = doc if isinstance(doc, dict) else {}
        title, description = doc.get("title"), doc.get("description", "")
        out.append(PresetInfo(name, title if isinstance(title, str) and title.strip() else name,
                              description if isinstance(description, str) else ""))
    return out


def list_presets() -> list[tuple[str, str]]:
    """(name, description) of every bundled preset, sorted by name (see :func:`preset_infos`)."""
    return [(info.name, info.description) for info in preset_infos()]
