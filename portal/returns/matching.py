"""Possible matches between an applicant and the people on the returns list.

A caseworker decides; these functions only propose. A proposal needs either the same document
number, or a similar name *and* the same date of birth: many people share a name, and a name
written in Latin letters by different officials, in different languages, is rarely spelled the
same way twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from typing import TypeVar

from anyascii import anyascii
from rapidfuzz import fuzz

# Names are compared word by word (see _name_score), on rapidfuzz's 0-100 scale. At 85 a word of
# seven letters or more may have one letter wrong, and one of three or more may gain or lose a
# letter (Fatma, Fatima), while different names that share most letters stay apart (Jamal and
# Jamil score 80, Ahmad and Mahmoud 73). Transliteration variants do not depend on it: they
# score 100.
NAME_THRESHOLD = 85

# A document number identifies the document whatever the names say, so it ranks first.
DOCUMENT_SCORE = 100

K = TypeVar("K")


@dataclass(frozen=True)
class Person:
    """Someone on either side of a comparison: applicants and returned people look alike here, so
    that the same rules can also find one person applying twice."""

    given_names: str
    family_name: str
    date_of_birth: date | None
    nationality: str | None
    document_number: str | None


@dataclass(frozen=True)
class Match:
    """A score ranks the proposals; the fields tell the caseworker what the proposal rests on."""

    score: int
    fields: tuple[str, ...]


# anyascii writes these letters the Arabic way, but Persian, Pashto and Urdu say them otherwise,
# and so do most Latin spellings of such names: رضا is Reza (not Rda), فاطمة is Fatima (not Ftmh).
_SCRIPT_LETTERS = str.maketrans({"ض": "z", "ة": "a"})

# Spellings of one sound across French, English, Persian and scholarly transliteration.
_FOLDS = (
    ("dj", "j"),  # Djamel, Jamal
    ("ch", "sh"),  # Rachid, Rashid; Aicha, Aisha
    ("dh", "z"),  # Dhabih, Zabih; Hafidh, Hafiz; Ridha, Reza
    ("ph", "f"),  # Mustapha, Mustafa
    ("q", "k"),  # Qasim, Kasim; Abdulqadir, Abdelkader
    ("w", "v"),  # Wahid, Vahid; Javad, Jawad (Persian says v)
    ("ou", "u"),  # Youssef, Yusuf; Mahmoud, Mahmud
    ("oo", "u"),  # Mahmood, Mahmud
    ("ee", "i"),  # Kareem, Karim
)

# Hamza and ayn: anyascii writes them as ' and `, Latin spellings mostly leave them out.
_SILENT = re.compile(r"['`]")
_NOT_LETTERS = re.compile(r"[^a-z]+")
_DOUBLED = re.compile(r"([a-z])\1+")

# Scripts that leave short vowels unwritten: Arabic (with Persian, Pashto and Urdu letters) and
# Ethiopic, whose sixth order anyascii renders without a vowel (ምስግና is "msgna", Misgina).
_VOWEL_LESS_SCRIPTS = re.compile(
    r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefe\u1200-\u139f]"
)
# Inside a word v (from و) and y (from ي) are long vowels in Arabic script: يوسف is "yvsf".
_UNWRITTEN = re.compile(r"[aeiou]|\B[vy]")
# A y inside a word is a vowel in Latin spellings too: Husayn, Hussein; Ahmady, Ahmadi.
_VOWEL_RUNS = re.compile(r"((?:[aeiou]|\By)+)")
# Which short Arabic vowels a Latin vowel may stand for. An e may stand for any of them: Mohammed
# (Muhammad), Youssef (Yusuf), Hamed (Hamid).
_SHORT_VOWELS = {"a": {"a"}, "i": {"i"}, "y": {"i"}, "o": {"u"}, "u": {"u"}, "e": {"a", "i", "u"}}


def normalise_name(text: str) -> str:
    """Bring the spellings of one name together, so that only real differences remain.

    Any script is transliterated to ASCII, accents and case are dropped, and punctuation becomes
    a space ("Al-Hassan" is "al hassan"). Then the common spellings of one sound are folded into
    one (see _FOLDS), and doubled letters made single (Hassan, Hasan), because doubling is the
    writer's choice, not part of the name. Vowels are left alone here: _same_word deals with them.
    """
    text = _SILENT.sub("", anyascii(text.translate(_SCRIPT_LETTERS)).lower())
    text = " ".join(_NOT_LETTERS.sub(" ", text).split())
    for old, new in _FOLDS:
        text = text.replace(old, new)
    return _DOUBLED.sub(r"\1", text)


def normalise_document_number(text: str | None) -> str:
    """Officials copy spaces, dashes and case as they please; the number is letters and digits."""
    return "".join(char for char in (text or "").upper() if char.isascii() and char.isalnum())


def _same_vowels(first: str, second: str) -> bool:
    """Whether two runs of vowels can write the same Arabic vowel.

    A single vowel must agree in kind (Omar is not Amir, Jamal is not Jamil); two or more letters
    write a long vowel or diphthong, and their spellings vary too much to tell apart (Hussein,
    Husayn), though not with a single letter (Hussein is not Hassan).
    """
    if len(first) > 1 or len(second) > 1:
        return len(first) > 1 and len(second) > 1
    return bool(_SHORT_VOWELS[first] & _SHORT_VOWELS[second])


def _same_word(first: str, second: str, vowel_less: bool) -> bool:
    """Whether two words are spellings of one name: the same consonants, alike vowels.

    When a name was written in a script without short vowels, only its consonants can be
    compared; that joins more names (Hassan and Hussein, Ali and Eli), so it is used only then.
    """
    first_parts, second_parts = _VOWEL_RUNS.split(first), _VOWEL_RUNS.split(second)
    if len(first_parts) == len(second_parts) and all(
        a == b if index % 2 == 0 else _same_vowels(a, b)
        for index, (a, b) in enumerate(zip(first_parts, second_parts, strict=True))
    ):
        return True
    if not vowel_less:
        return False
    consonants = _DOUBLED.sub(r"\1", _UNWRITTEN.sub("", first))
    return bool(consonants) and consonants == _DOUBLED.sub(r"\1", _UNWRITTEN.sub("", second))


@lru_cache(maxsize=65_536)
def _word_score(first: str, second: str, vowel_less: bool) -> float:
    """Cached, because a list holds the same few hundred names over and over."""
    return 100 if _same_word(first, second, vowel_less) else fuzz.ratio(first, second)


def _merge(words: list[str], other: list[str], score: Callable[[str, str], float]) -> list[str]:
    """Join neighbouring words that together spell a word of the other name.

    Particles and compound names are written apart or together at random: Abdul Rahman and
    Abdulrahman, Al Hassan and Alhasan, Abd al-Rahman, Mohammad Reza and Mohammadreza.
    """

    def best(word: str) -> float:
        return max(score(word, counterpart) for counterpart in other)

    merged: list[str] = []
    index = 0
    while index < len(words):
        for size in (3, 2):
            parts = words[index : index + size]
            joined = "".join(parts)
            if (
                len(parts) == size
                and best(joined) >= NAME_THRESHOLD
                and best(joined) > max(map(best, parts))
            ):
                merged.append(joined)
                index += size
                break
        else:
            merged.append(words[index])
            index += 1
    return merged


def _name_score(applicant: Person, returned: Person) -> int:
    """How alike two names are, 0-100, whichever field each word was written in.

    Each word of one name is paired with its most alike word in the other, and the score is that
    of the least alike pair: two names are no more alike than their most different words, and a
    shared family name must not make up for different given names (siblings share it, and twins
    a date of birth too). A word scores 100 against another spelling of itself (_same_word), and
    rapidfuzz's ratio otherwise.

    Given and family names get swapped, or written in one field, so the fields are ignored. A
    name may carry words the other lacks (a father's name, as Eritrean and Afghan names often
    do), provided the shorter name has two words at least: one word alone is shared by too many.
    """
    texts = (applicant.given_names, applicant.family_name)
    others = (returned.given_names, returned.family_name)
    vowel_less = any(_VOWEL_LESS_SCRIPTS.search(text) for text in texts + others)
    score = partial(_word_score, vowel_less=vowel_less)
    first = list(dict.fromkeys(normalise_name(" ".join(texts)).split()))
    second = list(dict.fromkeys(normalise_name(" ".join(others)).split()))
    if not first or not second:
        return 0
    first = _merge(first, second, score)
    second = _merge(second, first, score)
    pairs = sorted(
        ((score(a, b), i, j) for i, a in enumerate(first) for j, b in enumerate(second)),
        reverse=True,
    )
    paired_first: set[int] = set()
    paired_second: set[int] = set()
    scores: list[float] = []
    for pair_score, i, j in pairs:
        if i not in paired_first and j not in paired_second:
            paired_first.add(i)
            paired_second.add(j)
            scores.append(pair_score)
    if len(first) != len(second) and min(len(first), len(second)) < 2:
        scores.append(0)
    return round(min(scores))


def _same_birth_date(first: date | None, second: date | None) -> bool:
    """Day and month are easily swapped between French, British and American forms."""
    if first is None or second is None:
        return False
    return first == second or (
        first.day <= 12 and date(first.year, first.day, first.month) == second
    )


def _document(person: Person) -> str:
    """A number without a digit is a placeholder ("N/A", "none"), which would match every other."""
    number = normalise_document_number(person.document_number)
    return number if any(char.isdigit() for char in number) else ""


def compare(applicant: Person, returned: Person) -> Match | None:
    """A possible match, with the fields that agree, or None.

    The score is the name score (see _name_score), except that a shared document number scores
    DOCUMENT_SCORE: the document is the stronger evidence, however the names were written.
    Nationality never proposes a match, since thousands share it; it is listed to help the
    caseworker.
    """
    document = _document(applicant)
    same_document = bool(document) and document == _document(returned)
    same_birth_date = _same_birth_date(applicant.date_of_birth, returned.date_of_birth)
    if not (same_document or same_birth_date):
        return None
    score = _name_score(applicant, returned)
    similar_names = score >= NAME_THRESHOLD
    if not (same_document or similar_names):
        return None
    nationality = (applicant.nationality or "").upper()
    same_nationality = bool(nationality) and nationality == (returned.nationality or "").upper()
    agreeing = {
        "name": similar_names,
        "date_of_birth": same_birth_date,
        "nationality": same_nationality,
        "document_number": same_document,
    }
    return Match(
        score=DOCUMENT_SCORE if same_document else score,
        fields=tuple(field for field, agrees in agreeing.items() if agrees),
    )


def possible_matches(
    applicant: Person, returns: Iterable[tuple[K, Person]]
) -> list[tuple[K, Match]]:
    """Every possible match, best first, each with the caller's key for the returned person."""
    found = [
        (key, match)
        for key, returned in returns
        if (match := compare(applicant, returned)) is not None
    ]
    found.sort(key=lambda item: item[1].score, reverse=True)
    return found


def similar_names(first: Person, second: Person) -> bool:
    """Whether two names are spellings of one name, by the rules above (any script, any field).

    For other tolerant name comparisons (a family member's application against the name the main
    applicant listed), so that there is one notion of "the same name" in the portal.
    """
    return _name_score(first, second) >= NAME_THRESHOLD
