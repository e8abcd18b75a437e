"""A scenario as a self-contained NumPy script: the lecture's computation, readable and runnable anywhere.

:func:`script_text` writes a Python script that needs only NumPy (never this
package): the vocabulary, the token ids and every weight as literals, then the
forward pass of an attention-only transformer step by step, exactly as the
engine runs it (embeddings, per-layer queries/keys/values, scaled scores,
causal mask, softmax or the head's lecture override, z, residual stream,
logits). Running it prints, for each head, the attention weights and the
copied representations (``hook_z``) the way the lecture did, and the top
prediction per position; ``--json`` prints the numbers as one JSON object.

Weights are written as float32 values, each as the ``repr`` of its exact
float64 value, so the script computes with the same numbers as the app. The
script computes in float64 by default, as the lecture's plain NumPy did (which
is why the demo's rows read 0.99999999); ``--float32`` computes as the app does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..engine.attention import HeadOverride
from ..engine.override_schema import OVERRIDE_PARAMS
from .model_block import parameter_count
from .scenario import Scenario

SCRIPT_MAX_PARAMS = 200_000  # larger models make scripts of many megabytes: use `export` instead


class ScriptExportError(ValueError):
    """The scenario cannot be written as a script (the message says why and what to do instead)."""


def _literal(values: object, indent: int) -> str:
    """Nested lists as Python source: innermost lists on one line, outer ones one item per line."""
    if not isinstance(values, list) or not values or not isinstance(values[0], list):
        return repr(values)
    pad = " " * (indent + 4)
    inner = (",\n" + pad).join(_literal(v, indent + 4) for v in values)
    return "[\n" + pad + inner + ",\n" + " " * indent + "]"


def _array(values: np.ndarray, dtype: str = "float32", indent: int = 0) -> str:
    # float32 -> float64 is exact, and repr of a float64 reads back bit for bit
    as_list = np.asarray(values, dtype=np.float64).tolist()
    return f"np.array({_literal(as_list, indent)}, dtype=np.{dtype})"


def _doc_safe(text: str) -> str:
    """Text that can sit inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _override_source(o: HeadOverride) -> str:
    fields = []
    for param in OVERRIDE_PARAMS:
        v = getattr(o, param.name)
        if param.kind == "matrix":
            text = "None" if v is None else _array(v, "float64", 8)
        else:
            text = repr(int(v) if param.kind == "int" else float(v) if param.kind == "number" else v)
        fields.append(f"        {param.name}={text},\n")
    return "dict(\n" + "".join(fields) + "    )"


def script_text(scenario: Scenario, *, filename: str = "scenario_script.py", source: str | None = None) -> str:
    """The NumPy script of ``scenario``.

    Parameters
    ----------
    scenario
        the scenario (its tokens, weights, attention scale and head overrides).
    filename
        the name the script is saved under, for the "how to run" line of its docstring.
    source
        the preset name or file the scenario came from (only its file name is written).

    Raises
    ------
    ScriptExportError
        if the model has more than :data:`SCRIPT_MAX_PARAMS` parameters.
    """
    cfg = scenario.config
    count = parameter_count(scenario.weights.config)
    if count > SCRIPT_MAX_PARAMS:
        raise ScriptExportError(
            f"the model has {count:,} parameters; a script is limited to {SCRIPT_MAX_PARAMS:,} "
            "(use 'induction-gui export' to write its activations and weights as arrays instead)"
        )
    name = Path(filename).name
    origin = f" (from {Path(source).name})" if source else ""
    weights = scenario.weights
    lines: list[str] = []
    add = lines.append

    add(f'"""{_doc_safe(scenario.title)}{_doc_safe(origin)}: the forward pass of an attention-only transformer.')
    add("")
    if scenario.description:
        add(_doc_safe(scenario.description))
        add("")
    add("Written by Induction Head Explorer. Self-contained: only NumPy is needed.")
    add(f"The model: {cfg.n_layers} layer(s), {cfg.n_heads} head(s) per layer, d_model = {cfg.d_model},")
    add(f"d_head = {cfg.d_head}, a vocabulary of {cfg.d_vocab} tokens; weights use TransformerLens names.")
    add("")
    add("Run it with")
    add("")
    add(f"    python {name}            # attention weights, copied representations, predictions")
    add(f"    python {name} --json     # the same numbers as one JSON object")
    add(f"    python {name} --float32  # compute in float32 as the app does (default: float64,")
    add("                              # as the lecture's plain NumPy did)")
    add('"""')
    add("")
    add("import argparse")
    add("import json")
    add("import os")
    add("import sys")
    add("")
    add("import numpy as np")
    add("")
    add(f"TITLE = {scenario.title!r}")
    add("")
    add("# -- the sequence -------------------------------------------------------------------")
    add("# token id -> its text (for printing only; the model sees ids)")
    add(f"VOCAB = {list(scenario.vocab)!r}")
    add("# the sequence, as token ids")
    add(f"TOKENS = {scenario.tokens.tolist()!r}")
    add("")
    add("# -- the model ----------------------------------------------------------------------")
    add(f"N_LAYERS, N_HEADS, D_MODEL, D_HEAD = {cfg.n_layers}, {cfg.n_heads}, {cfg.d_model}, {cfg.d_head}")
    add("# q·k is divided by this (TransformerLens' attn_scale; sqrt(d_head) unless the scenario says otherwise)")
    add(f"ATTN_SCALE = {float(cfg.scale)!r}")
    add("")
    add("# W_E [d_vocab, d_model]: row t is the vector of token t (the lecture's token vectors)")
    add(f"W_E = {_array(weights['embed.W_E'])}")
    add("# W_pos [n_ctx, d_model]: added to the token vector at each position")
    add(f"W_pos = {_array(weights['pos_embed.W_pos'])}")
    add("# W_U [d_model, d_vocab], b_U [d_vocab]: score every token against the final residual stream")
    add(f"W_U = {_array(weights['unembed.W_U'])}")
    add(f"b_U = {_array(weights['unembed.b_U'])}")
    add("")
    add("# per layer: W_Q, W_K, W_V [n_heads, d_model, d_head], b_Q, b_K, b_V [n_heads, d_head],")
    add("# W_O [n_heads, d_head, d_model], b_O [d_model]")
    add("LAYERS = []")
    for layer in range(cfg.n_layers):
        add(f"# layer {layer}")
        add("LAYERS.append(dict(")
        for w in ("W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O"):
            add(f"    {w}={_array(weights[f'blocks.{layer}.attn.{w}'], indent=4)},")
        add("))")
    add("")
    add("# -- the lecture's experiments, per (layer, head) -------------------------------------")
    for param in OVERRIDE_PARAMS:
        choices = f" ({', '.join(map(repr, param.values))})" if param.kind == "choice" else ""
        for line in textwrap.wrap(f"{param.name}{choices}: {param.doc}", 100, initial_indent="# ",
                                  subsequent_indent="#   "):
            add(line)
    add("OVERRIDES = {")
    for (layer, head), o in sorted(scenario.overrides.items()):
        add(f"    ({layer}, {head}): {_override_source(o)},")
    add("}")
    add(_BODY)
    return "\n".join(lines)


def write_script(scenario: Scenario, out: str | Path, *, source: str | None = None) -> Path:
    """Write :func:`script_text` to ``out``; raises ``OSError`` if it cannot be written."""
    out = Path(out)
    text = script_text(scenario, filename=out.name, source=source)
    out.write_text(text, encoding="utf-8")
    return out


_BODY = r'''

# -- the forward pass ------------------------------------------------------------------
def causal_mask(n):
    """[query_pos, key_pos]: 0 where a query may look (keys at or before it), -inf at later keys."""
    return np.triu(np.full((n, n), -np.inf), k=1)


def softmax_rows(scores):
    """Softmax of each row (max subtracted for stability); a row with no visible key stays all zero."""
    row_max = scores.max(axis=-1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0.0
    out = np.exp(scores - row_max)
    total = out.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    return out / total


def linear_rows(scores, eps):
    """The lecture's A = P / (P.sum(-1) + eps): masked and negative scores count as 0.

    A row with nothing to attend to (row 0 of a shift matrix) stays all zero; eps is
    why the other rows read 0.99999999 rather than 1.
    """
    p = np.where(np.isneginf(scores) | (scores < 0), 0.0, scores).astype(scores.dtype)
    total = p.sum(axis=-1, keepdims=True) + eps
    total[total == 0] = 1.0
    return p / total


def attention_pattern(q, k, override, dtype):
    """Scores and attention weights of one head: [query_pos, key_pos] each."""
    n = q.shape[0]
    mask = causal_mask(n).astype(dtype)
    o = override or {}
    if o.get("fixed_pattern") is not None:
        # the lecture's fixed pattern replaces q·k entirely (top-left block for this length)
        scores = o["fixed_pattern"][:n, :n].astype(dtype) + mask
    else:
        shift = o.get("key_shift", 0)
        if shift:
            # key j is the key computed at position j - shift; keys j < shift do not exist
            shifted = np.zeros_like(k)
            if shift < n:
                shifted[shift:] = k[: n - shift]
            k = shifted
        # how well each query matches each key, scaled so the softmax is not too sharp
        scores = (q @ k.T) / dtype(ATTN_SCALE)
        scores += mask  # causal: a position only attends to itself and earlier positions
        if shift:
            scores[:, : min(shift, n)] = -np.inf
    score_scale = o.get("score_scale", 1.0)
    if score_scale != 1.0:
        with np.errstate(invalid="ignore"):  # 0 * -inf on masked keys: masked again just below
            scores = scores * dtype(score_scale)
        scores = np.where(np.isnan(scores) | (mask == -np.inf), -np.inf, scores).astype(dtype)
        if o.get("key_shift", 0) and o.get("fixed_pattern") is None:
            scores[:, : min(o["key_shift"], n)] = -np.inf
    if o.get("normalization", "softmax") == "linear":
        pattern = linear_rows(scores, o.get("eps", 1e-8))
    else:
        pattern = softmax_rows(scores)
    return scores.astype(dtype), pattern.astype(dtype)


def forward(dtype):
    """Run the model on TOKENS; return the patterns and z of every head, and the logits."""
    tokens = np.array(TOKENS)
    n = len(tokens)
    # 1. embeddings: each token's vector (a row of W_E) plus its position's vector
    resid = W_E.astype(dtype)[tokens] + W_pos.astype(dtype)[:n]  # [pos, d_model]: the residual stream
    patterns, zs = {}, {}
    for layer, w in enumerate(LAYERS):
        W_Q, W_K, W_V, W_O = (w[name].astype(dtype) for name in ("W_Q", "W_K", "W_V", "W_O"))
        b_Q, b_K, b_V, b_O = (w[name].astype(dtype) for name in ("b_Q", "b_K", "b_V", "b_O"))
        attn_out = np.zeros_like(resid)
        for head in range(N_HEADS):
            # 2. queries ("what am I looking for"), keys ("what do I contain") and
            #    values ("what I pass on") of every position, read from the residual stream
            q = resid @ W_Q[head] + b_Q[head]  # [pos, d_head]
            k = resid @ W_K[head] + b_K[head]
            v = resid @ W_V[head] + b_V[head]
            # 3. attention weights A: row i says how much position i takes from each earlier position
            override = OVERRIDES.get((layer, head))
            _, A = attention_pattern(q, k, override, dtype)
            # 4. the copied representations: each position's weighted sum of values, z = A @ V (hook_z)
            z = A @ v  # [pos, d_head]
            ablation = (override or {}).get("ablation")
            if ablation == "zero":
                z = np.zeros_like(z)  # the head is switched off
            elif ablation == "mean":
                z = np.broadcast_to(z.mean(axis=0), z.shape).copy()  # every position gets the average
            patterns[layer, head], zs[layer, head] = A, z
            # 5. the head writes z @ W_O into the residual stream
            attn_out += z @ W_O[head]
        # 6. the residual stream is a plain sum: what was there plus every head's output
        resid = resid + (attn_out + b_O)
    # 7. logits: each token's score at each position (the next-token prediction)
    logits = resid @ W_U.astype(dtype) + b_U.astype(dtype)  # [pos, d_vocab]
    return patterns, zs, logits


def describe(override):
    """What a head does differently, in the lecture's words."""
    if not override:
        return "softmax(q·k / sqrt(d_head)) with a causal mask"
    parts = []
    if override.get("fixed_pattern") is not None:
        parts.append("fixed pattern")
    elif override.get("key_shift"):
        parts.append(f"keys shifted by {override['key_shift']}")
    if override.get("normalization") == "linear":
        parts.append(f"linear normalisation P / (P.sum + {override.get('eps', 1e-8):g})")
    else:
        parts.append("softmax")
    if override.get("score_scale", 1.0) != 1.0:
        parts.append(f"scores x {override['score_scale']:g}")
    if override.get("ablation"):
        parts.append(f"{override['ablation']}-ablated")
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=f"{TITLE}: attention patterns and copied representations")
    parser.add_argument("--json", action="store_true", help="print the numbers as one JSON object")
    parser.add_argument("--float32", action="store_true", help="compute in float32 as the app does")
    args = parser.parse_args(argv)
    dtype = np.float32 if args.float32 else np.float64
    patterns, zs, logits = forward(dtype)
    predictions = [int(i) for i in logits.argmax(axis=-1)]
    if args.json:
        json.dump(
            {
                "title": TITLE,
                "dtype": np.dtype(dtype).name,
                "tokens": TOKENS,
                "vocab": VOCAB,
                "patterns": {f"L{l}H{h}": a.astype(np.float64).tolist() for (l, h), a in patterns.items()},
                "z": {f"L{l}H{h}": z.astype(np.float64).tolist() for (l, h), z in zs.items()},
                "logits": logits.astype(np.float64).tolist(),
                "predictions": predictions,
            },
            sys.stdout,
        )
        sys.stdout.write("\n")
        return 0
    # enough digits that 1 / (1 + 1e-8) prints as 0.99999999, as in the lecture
    np.set_printoptions(precision=8, suppress=True, linewidth=150, threshold=100_000)
    print(TITLE)
    print("tokens:", " ".join(VOCAB[t] for t in TOKENS))
    for (layer, head), A in patterns.items():
        print()
        print(f"=== layer {layer}, head {head} (L{layer}H{head}): {describe(OVERRIDES.get((layer, head)))} ===")
        print("attention weights A (row i: how much position i attends to each position):")
        print(A)
        print("copied representations z = A @ V (hook_z, one row per position):")
        print(zs[layer, head])
    print()
    print("top prediction per position:")
    width = max(len(VOCAB[t]) for t in TOKENS)
    for pos, (t, p) in enumerate(zip(TOKENS, predictions)):
        print(f"  {pos:>3}  {VOCAB[t]:<{width}}  -> {VOCAB[p]}  (logit {logits[pos, p]:.4f})")
    return 0


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()  # inside the try: a short output would otherwise fail at exit, outside it
    except BrokenPipeError:  # piped into a reader that stopped early (| head): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
'''
