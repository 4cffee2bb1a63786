"""Text normalisation for Persian comments.

`Normalizer` chains small, switchable steps; its settings live in a frozen
`NormalizerConfig` that models save beside their weights, so that training and
inference always normalise the same way.

Steps, in the order ``normalize()`` runs them (each one is a method and can be
switched off in the config):

1. ``sanitize`` - drops lone surrogates, NUL and other C0/C1 controls (tab and
   newline are kept, a tab becomes a space, ``\\r\\n`` becomes ``\\n``), bidi controls, BOM, ZWSP,
   soft hyphen; turns exotic spaces into a plain space.
2. ``unify_chars`` (below, 3.) runs first in fact, so that marks cannot hide
   an entity; then ``replace_entities`` - links, e-mails, @ids and phone numbers become the
   placeholders ``<url>``, ``<email>``, ``<user>``, ``<phone>``; a hashtag keeps
   its words (``#نه_به_تلگرام`` -> ``نه به تلگرام``). With ``entity_names`` a link to a
   messenger or an @id that names one keeps the messenger's name after the placeholder
   (``t.me/x`` -> ``<url> telegram``, ``@eitaa_support`` -> ``<user> eitaa``), so that it
   still counts as a mention of its target (:data:`MESSENGER_DOMAINS`, :data:`MESSENGER_HANDLES`).
3. ``unify_chars`` - NFC, Arabic letters to Persian (ي ى ې ێ ے -> ی,
   ك ڪ -> ک, ە ھ ہ ة -> ه, أ إ ٱ -> ا), presentation forms to plain letters,
   ۀ / هٔ -> «ه‌ی» (ezafe written out), kashida and diacritics removed, ZWJ
   removed except between emoji; ء ئ ؤ are kept.
4. ``unify_digits`` - one digit script (config ``digits``); with "latin" the
   Arabic decimal/thousands separators ٫ ٬ become ``.`` ``,`` and ٪ becomes %;
   with "persian" % becomes ٪.
5. ``squash_repeats`` - a letter repeated three or more times is cut to one
   copy when that gives a dictionary word, else to two (``خیلیییی`` -> ``خیلی``,
   ``ههههه`` -> ``هه``); a run of ``! ? ؟`` keeps one of each distinct mark
   (``؟؟؟!!!`` -> ``؟!``); ``...`` -> `` …``. The emphasis these carried is
   *not* kept in the text: call :func:`emphasis_features` on the raw text to
   get it as numbers (choice documented here, per issue 3).
6. ``correct_spacing`` - puts spaces around punctuation the Persian way (as
   hazm does), separates digits from letters and emoji from words; then
   ``collapse_spaces`` turns runs of spaces into one and trims the ends (each
   can be switched off on its own).
7. ``restore_halfspaces`` - puts back ZWNJ: verbal prefixes می/نمی (not before the
   colloquial آ-stems written with a plain alef: «میاد», «میارن» stay joined), plural
   and comparative suffixes, pronominal and copula suffixes after ه, compounds
   from a lexicon (hazm's word list plus a curated domain list); removes wrong
   ZWNJs (after non-joining letters, at word edges, doubled).

The output is idempotent: normalising normalised text changes nothing.
hazm is imported lazily (on the first text that needs the lexicon).

The modules: :mod:`.chars` (letters, digits, the character table, matching fold),
:mod:`.entities`, :mod:`.spacing` (repeats and spacing), :mod:`.halfspace`, :mod:`.emphasis`
and :mod:`.normalizer` (the config and the step chain). Import from ``pipeline.normalize``.
"""
from __future__ import annotations

from .chars import MATCH_FOLD, PERSIAN_LETTERS, ZWNJ, fold_for_matching
from .emphasis import emphasis_features
from .entities import MESSENGER_DOMAINS, MESSENGER_HANDLES
from .halfspace import DOMAIN_COMPOUNDS
from .normalizer import NORMALIZER_PACKAGES, Normalizer, NormalizerConfig, normalizer_versions

__all__ = ["NormalizerConfig", "Normalizer", "emphasis_features", "DOMAIN_COMPOUNDS", "MESSENGER_DOMAINS",
           "MESSENGER_HANDLES", "NORMALIZER_PACKAGES", "normalizer_versions", "MATCH_FOLD", "PERSIAN_LETTERS",
           "ZWNJ", "fold_for_matching"]
