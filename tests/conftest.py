"""Test-wide setup: Qt runs offscreen, BLAS on one thread, no test leaves a thread behind.

Two tiers and two hypothesis profiles:

- the default run leaves out tests marked ``slow`` (packaging builds, soak
  tests); ``--run-slow`` runs them too;
- property tests use the ``ci`` profile, derandomized, so every run draws the
  same examples and gives the same verdict; ``--hypothesis-profile=explore`` (or
  ``HYPOTHESIS_PROFILE=explore``) draws fresh random examples on every run, to
  look for new failures.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from collections.abc import Iterator

# Before any QApplication exists: with no platform and no display Qt aborts the process.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# deadline=None: timing is the benchmark's job, and a shared 2-core machine makes any deadline flaky
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# a fresh random seed each run; the tests' own max_examples still apply (run it several times to look harder)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
# hypothesis' own ``--hypothesis-profile`` option overrides this default
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (packaging builds, soak tests)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a Python thread running (workers must be joined or cancelled)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(timeout=2.0)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"test leaked running threads: {still}"


# -- a model folder's tokenizer, built here (no network) ------------------------------------------
SENTENCES = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat and the log"] * 20


@pytest.fixture
def train_byte_level_bpe():  # noqa: ANN201 - a factory: path -> None
    """Write a tiny GPT-2 style (byte-level BPE, 300 tokens) tokenizer.json with an <|endoftext|> token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    def train(path: Path) -> None:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(SENTENCES, trainer)
        tok.save(str(path))

    return train


@pytest.fixture
def bpe_model_folder(tmp_path: Path, train_byte_level_bpe) -> Path:  # noqa: ANN001 - the factory above
    """A random one-layer model of 320 tokens saved as a TransformerLens folder, its tokenizer.json (300) beside it."""
    import json

    from induction_gui import engine
    from induction_gui.engine.weights_io import save_model_folder

    cfg = engine.ModelConfig(n_layers=1, n_heads=2, d_model=16, d_head=8, d_vocab=320, n_ctx=32)
    folder = save_model_folder(engine.Weights.random(cfg, seed=3), tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["default_prepend_bos"] = True  # TransformerLens' default, as a notebook's folder has it
    (folder / "config.json").write_text(json.dumps(config))
    train_byte_level_bpe(folder / "tokenizer.json")
    return folder
