"""Letters, digits and the character table: what ``unify_chars``, ``unify_digits`` and ``sanitize``
map, and the letter folding used to match words against lists (:func:`fold_for_matching`)."""
from __future__ import annotations

import re
import unicodedata


#: Letter variants folded together when words are matched against a list (targets, tone words):
#: Arabic yeh/kaf and alef forms onto the Persian letters, a half-space onto a space. Every
#: entry maps one character onto one, so offsets in the folded text are those of the original.
MATCH_FOLD: dict[str, str] = {"ي": "ی", "ى": "ی", "ك": "ک", "ە": "ه", "\u200c": " ", "أ": "ا", "إ": "ا"}


#: The Persian letters that make up a word, for word-boundary patterns.
PERSIAN_LETTERS = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءئؤ"
_MATCH_TABLE = str.maketrans(MATCH_FOLD)


def fold_for_matching(text: str) -> str:
    """``text`` with :data:`MATCH_FOLD` applied and lower-cased, the same length as ``text``."""
    return text.translate(_MATCH_TABLE).lower()


ZWNJ = "\u200c"
_PERSIAN_LETTERS = PERSIAN_LETTERS


#: letters that join to the following letter; a ZWNJ is only meaningful after one of them
_DUAL_JOINING = set("بپتثجچحخسشصضطظعغفقکگلمنهیئ")
_LETTER_CLASS = PERSIAN_LETTERS
_FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_AR_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_LATIN_DIGITS = "0123456789"
_EMOJI_RANGES = (
    "\U0001F000-\U0001FAFF"  # pictographs, emoticons, transport, supplemental
    "\u2600-\u27BF"  # misc symbols, dingbats
    "\u2B00-\u2BFF"  # arrows, stars
    "\u2300-\u23FF"  # technical (watch, hourglass)
)
_EMOJI_CLASS = f"[{_EMOJI_RANGES}]"
_EMOJI_MOD = "\uFE0F\U0001F3FB-\U0001F3FF\u200d\u20e3\U000E0020-\U000E007F"


def _build_char_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # presentation forms (FB50-FDFF, FE70-FEFF) -> compatibility decomposition
    for cp in list(range(0xFB50, 0xFE00)) + list(range(0xFE70, 0xFF00)):
        ch = chr(cp)
        if unicodedata.category(ch) == "Cn":
            continue
        dec = unicodedata.normalize("NFKC", ch)
        if dec != ch:
            table[cp] = dec
    simple = {
        "ي": "ی", "ى": "ی", "ې": "ی", "ێ": "ی", "ۍ": "ی", "ے": "ی", "ۓ": "ی", "ٸ": "ی",
        "ك": "ک", "ڪ": "ک", "ګ": "ک", "ڬ": "ک", "ڭ": "ک", "ڮ": "ک",
        "ە": "ه", "ھ": "ه", "ہ": "ه", "ة": "ه", "ۃ": "ه", "ۂ": "ه\u200cی", "ۀ": "ه\u200cی",
        "أ": "ا", "إ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ٶ": "ؤ", "ٷ": "ؤ",
        "ڤ": "ف", "ڨ": "ق", "ڱ": "گ", "ڳ": "گ", "ݣ": "ک",
        "\u066b": "\u066b", "\u066c": "\u066c",  # handled by unify_digits
        "ـ": None,  # kashida
        "\u0670": None,  # superscript alef
        "\u06e1": None, "\u06e4": None, "\u06ed": None, "\u06d4": ".",
        "“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'",
        "\u2028": "\n", "\u2029": "\n",
    }
    for k, v in simple.items():
        table[ord(k)] = v
    for cp in range(0x064B, 0x0660):  # harakat, shadda, sukun, hamza above/below, ...
        table[cp] = None
    for cp in (0x0610, 0x0611, 0x0612, 0x0613, 0x0614, 0x0615, 0x0616, 0x0617, 0x0618,
               0x0619, 0x061A, 0x06D6, 0x06D7, 0x06D8, 0x06D9, 0x06DA, 0x06DB, 0x06DC,
               0x06DF, 0x06E0, 0x06E2, 0x06E3, 0x06E7, 0x06E8, 0x06EA, 0x06EB, 0x06EC):
        table[cp] = None
    for cp in range(0x08D3, 0x0900):  # extended Arabic marks
        table[cp] = None
    # ligature words hazm spells out
    table[0xFDFD] = "بسم الله الرحمن الرحیم"  # as hazm expands it, and as typed
    table[0xFDFC] = "ریال"
    table[0xFDFA] = None  # salla-llahu ... (hazm drops these)
    table[0xFDFB] = None
    table[0xFDF2] = "الله"
    # NFKC results may contain Arabic letters: pass them through the simple map again
    for cp, v in list(table.items()):
        if isinstance(v, str) and len(v) > 0:
            table[cp] = "".join(simple.get(c, c) or "" for c in v if c not in "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652")
    return table


_CHAR_TABLE = _build_char_table()
_HAMZA_AFTER_HEH = re.compile("ه\u0654")  # هٔ before diacritics are dropped
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_SPACE_CHARS = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u000b\u000c]")
_ZWJ_NOT_EMOJI = re.compile(
    f"(?<![{_EMOJI_RANGES}\uFE0F\U0001F3FB-\U0001F3FF\u20e3])\u200d|\u200d(?![{_EMOJI_RANGES}])"
)
_TO_LATIN = str.maketrans(_FA_DIGITS + _AR_DIGITS + "٫٬٪", _LATIN_DIGITS * 2 + ".,%")
_TO_PERSIAN = str.maketrans(_AR_DIGITS + _LATIN_DIGITS + "%", _FA_DIGITS * 2 + "٪")
_AR_TO_FA_DIGITS = str.maketrans(_AR_DIGITS, _FA_DIGITS)
