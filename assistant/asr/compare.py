"""How the free transcript compares with a grammar phrase: the word-level tests of the Whisper
engine's rejection rule (whisper_engine.py). Pure functions over normalized words, so each rule
reads, and is tested, on its own."""

from __future__ import annotations

from .verify import edit_distance


def says_more(heard: list[str], phrase: list[str], extra: int, fillers: frozenset[str] = frozenset()) -> bool:
    """The free transcript holds the phrase word for word, with at least `extra` words around it
    that are not fillers: "what can we do about the car" is a sentence that begins like a command."""
    n = len(phrase)
    for i in range(len(heard) - n + 1):
        if n and heard[i : i + n] == phrase:
            return sum(word not in fillers for word in heard[:i] + heard[i + n :]) >= extra
    return False


def word_distance(heard: list[str], phrase: list[str]) -> float:
    """Levenshtein distance over words, divided by the phrase's length."""
    return edit_distance(heard, phrase) / max(1, len(phrase))


def name_misheard_before(heard: list[str], phrase: list[str], wake: list[str], per_name_word: int) -> bool:
    """The free transcript ends with the phrase, word for word, and has in front of it no more words
    than the wake name could be heard as (`per_name_word` for each of its words): "joo did her,
    that's all from me" may be "juniper, that's all from me". Whether it was is for the model to
    say, by scoring the addressed phrase on the same audio."""
    n = len(phrase)
    before = len(heard) - n
    return bool(wake) and n > 0 and before > 0 and heard[before:] == phrase and before <= per_name_word * len(wake)
