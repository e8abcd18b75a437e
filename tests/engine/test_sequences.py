"""Vocabularies, tokenisation and the seeded generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.engine.sequences import (
    GeneratedSequence,
    UnknownTokenError,
    ambiguous_prefix,
    detokenize,
    no_repeat,
    planted_repeat,
    repeat_beyond_context,
    repeated_names_text,
    repeated_random,
    tokenize,
    vocab_from_text,
)

# -- text ------------------------------------------------------------------------------


def test_vocab_from_text_is_first_seen_order_with_bos_first() -> None:
    text = "When Mary and John went to the store, John gave a drink to Mary."
    vocab = vocab_from_text(text)
    assert vocab[:5] == ["<s>", "When", "Mary", "and", "John"]
    assert vocab.count("John") == 1 and "," in vocab and "." in vocab
    assert vocab_from_text("b a b", bos=None) == ["b", "a"]
    assert vocab_from_text("abca", "chars") == ["<s>", "a", "b", "c"]
    assert vocab_from_text("<s>ab", "chars") == ["<s>", "a", "b"]


def test_tokenize_round_trips_words_and_chars() -> None:
    text = "<s> When Mary and John went to the store, John gave a drink to Mary."
    vocab = vocab_from_text(text)
    ids = tokenize(text, vocab, "words")
    assert ids.dtype == np.int64 and ids[0] == 0
    assert detokenize(ids, vocab, "words") == text
    chars = "<s>hello world"
    cv = vocab_from_text(chars, "chars")
    assert detokenize(tokenize(chars, cv, "chars"), cv, "chars") == chars
    assert tokenize(chars, cv, "chars")[0] == 0


def test_tokenize_keeps_whole_vocabulary_chunks() -> None:
    vocab = ["A", "B", "C", "A+B"]
    assert tokenize("A B A+B", vocab).tolist() == [0, 1, 3]


def test_unknown_tokens_are_all_listed_once_in_order() -> None:
    vocab = ["<s>", "the", "cat"]
    with pytest.raises(UnknownTokenError) as info:
        tokenize("the dog saw the bird and the dog", vocab)
    assert info.value.unknown == ("dog", "saw", "bird", "and")
    assert isinstance(info.value, ValueError)
    assert "'bird'" in str(info.value)


def test_text_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="mode"):
        vocab_from_text("a", "bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ids"):
        detokenize([0, 5], ["a", "b"])


# -- repeated_random -----------------------------------------------------------------------


@given(n_block=st.integers(1, 20), d_vocab=st.integers(2, 30), seed=st.integers(0, 2**32 - 1), bos=st.booleans())
@settings(max_examples=60, deadline=None)
def test_repeated_random_repeats_its_block(n_block: int, d_vocab: int, seed: int, bos: bool) -> None:
    b = 0 if bos else None
    seq = repeated_random(n_block, d_vocab, seed=seed, bos=b)
    toks = seq.tokens
    off = int(bos)
    assert toks.shape == (2 * n_block + off,)
    first, second = toks[list(seq.marks["first"])], toks[list(seq.marks["second"])]
    np.testing.assert_array_equal(first, second)
    if bos:
        assert toks[0] == 0 and (toks[1:] != 0).all()
    if n_block <= d_vocab - off:
        assert len(set(first.tolist())) == n_block
    assert ((toks >= 0) & (toks < d_vocab)).all()


def test_repeated_random_is_deterministic_and_batched() -> None:
    a = repeated_random(6, 20, seed=42)
    b = repeated_random(6, 20, seed=42)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, repeated_random(6, 20, seed=43).tokens)
    batch = repeated_random(6, 20, seed=42, batch=5)
    assert batch.tokens.shape == (5, 13)
    assert len({tuple(r) for r in batch.tokens.tolist()}) > 1
    np.testing.assert_array_equal(batch.tokens[:, 1:7], batch.tokens[:, 7:])
    assert not batch.tokens.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_block": 0, "d_vocab": 5}, "n_block"),
        ({"n_block": 3, "d_vocab": 1}, "d_vocab"),
        ({"n_block": 3, "d_vocab": 5, "bos": 5}, "bos"),
        ({"n_block": 3, "d_vocab": 5, "batch": 0}, "batch"),
    ],
)
def test_repeated_random_validates(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        repeated_random(seed=0, **kwargs)


# -- planted_repeat -------------------------------------------------------------------------


@given(
    length=st.integers(4, 40),
    data=st.data(),
    d_vocab=st.integers(3, 20),
    seed=st.integers(0, 10**6),
    bos=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_planted_repeat_plants_one_pair(length: int, data: st.DataObject, d_vocab: int, seed: int, bos: bool) -> None:
    off = int(bos)
    distance = data.draw(st.integers(2, length - 1 - off))
    seq = planted_repeat(length, distance, d_vocab, seed=seed, bos=0 if bos else None)
    toks = seq.tokens
    assert toks.shape == (length,)
    (p,), (q,) = seq.marks["first_A"], seq.marks["second_A"]
    assert q - p == distance
    a, b = toks[p], toks[p + 1]
    assert a != b and seq.marks["first_B"] == (p + 1,)
    assert (toks == a).sum() == 2  # A occurs exactly twice: one right answer
    if seq.marks["second_B"]:
        assert toks[q + 1] == b
    else:
        assert q == length - 1
    if bos:
        assert toks[0] == 0 and (toks[1:] != 0).all()


@pytest.mark.parametrize(
    ("length", "distance", "d_vocab", "bos", "match"),
    [
        (0, 2, 5, None, "length"),
        (10, 1, 5, None, "distance"),
        (10, 10, 5, None, "distance"),
        (10, 9, 5, 0, "distance"),  # the start token leaves room for 8
        (10, 3, 1, None, "d_vocab"),
        (10, 3, 2, 0, "d_vocab"),
    ],
)
def test_planted_repeat_validates(length: int, distance: int, d_vocab: int, bos: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        planted_repeat(length, distance, d_vocab, seed=0, bos=bos)


# -- counter-examples -----------------------------------------------------------------------


@given(d_vocab=st.integers(2, 30), data=st.data(), seed=st.integers(0, 10**6), bos=st.booleans())
@settings(max_examples=60, deadline=None)
def test_no_repeat_never_repeats(d_vocab: int, data: st.DataObject, seed: int, bos: bool) -> None:
    length = data.draw(st.integers(1, d_vocab))  # with a start token, d_vocab − 1 content ids + <s>
    seq = no_repeat(length, d_vocab, seed=seed, bos=0 if bos else None)
    assert seq.tokens.shape == (length,)
    assert len(set(seq.tokens.tolist())) == length


def test_no_repeat_refuses_what_the_vocabulary_cannot_fill() -> None:
    with pytest.raises(ValueError, match="distinct"):
        no_repeat(6, 5, seed=0, bos=0)  # 5 content tokens needed, 4 available
    with pytest.raises(ValueError, match="length"):
        no_repeat(0, 5, seed=0)
    np.testing.assert_array_equal(no_repeat(5, 8, seed=3).tokens, no_repeat(5, 8, seed=3).tokens)


@pytest.mark.parametrize("n_filler", [0, 1, 5])
def test_ambiguous_prefix_has_two_continuations(n_filler: int) -> None:
    seq = ambiguous_prefix(n_filler, 12, seed=9, bos=0)
    toks = seq.tokens
    assert toks.shape == (1 + 5 + 2 * n_filler,)
    pa = seq.marks["A"]
    a = toks[pa[0]]
    assert (toks[list(pa)] == a).all() and (toks == a).sum() == 3
    assert seq.marks["query"] == (len(toks) - 1,)
    b, c = toks[seq.marks["B"][0]], toks[seq.marks["C"][0]]
    assert len({int(a), int(b), int(c)}) == 3
    with pytest.raises(ValueError, match="d_vocab"):
        ambiguous_prefix(2, 4, seed=0, bos=0)  # 3 content ids, fillers need a 4th
    with pytest.raises(ValueError, match="n_filler"):
        ambiguous_prefix(-1, 12, seed=0)


@pytest.mark.parametrize("bos", [0, None])
def test_repeat_beyond_context_puts_the_first_occurrence_outside_the_window(bos: int | None) -> None:
    n_ctx = 16
    seq = repeat_beyond_context(n_ctx, 10, seed=2, bos=bos)
    toks = seq.tokens
    window = seq.marks["window"]
    assert len(window) == n_ctx and window[-1] == len(toks) - 1
    (p,), (q,) = seq.marks["first_A"], seq.marks["second_A"]
    assert q == len(toks) - 1 and toks[p] == toks[q]
    assert p not in window
    assert (toks[list(window)] == toks[q]).sum() == 1  # the window holds only the last A
    with pytest.raises(ValueError, match="n_ctx"):
        repeat_beyond_context(1, 10, seed=0)


def test_repeated_names_text_marks_repeated_first_names() -> None:
    seq = repeated_names_text(seed=0)
    assert seq.text is not None and seq.vocab is not None and seq.vocab[0] == "<s>"
    assert seq.tokens[0] == 0
    words = [seq.vocab[t] for t in seq.tokens]
    assert len(seq.marks["query"]) == 2
    for q, t in zip(seq.marks["query"], seq.marks["target"], strict=True):
        name, surname = words[q], words[t]
        first = words.index(name)
        assert first < q and words[first + 1] == surname
    assert detokenize(seq.tokens[1:], seq.vocab) == seq.text
    assert repeated_names_text(seed=0).text == seq.text
    assert len({repeated_names_text(seed=s).text for s in range(10)}) > 1


def test_generated_sequence_is_read_only() -> None:
    seq = GeneratedSequence(tokens=[1, 2, 3], description="x", marks={"a": [1]})
    assert seq.marks["a"] == (1,)
    with pytest.raises(ValueError):
        seq.tokens[0] = 5
