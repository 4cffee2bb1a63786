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
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Iterable

__all__ = ["NormalizerConfig", "Normalizer", "emphasis_features", "DOMAIN_COMPOUNDS", "MESSENGER_DOMAINS",
           "MESSENGER_HANDLES",
           "NORMALIZER_PACKAGES", "normalizer_versions", "MATCH_FOLD", "PERSIAN_LETTERS", "fold_for_matching"]

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

# ---------------------------------------------------------------------------
# character classes
# ---------------------------------------------------------------------------
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

# entities ------------------------------------------------------------------
_URL = re.compile(
    r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'«»]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|ir|org|net|info|io|me|co|app|tv|news|edu|gov|ac|biz|xyz)\b(?:/[^\s<>\"'«»]*)?"
)
_URL_TRAIL = re.compile(r"[.,!?;:)\]}،؛؟]+$")
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b")
_USER = re.compile(r"@[A-Za-z0-9_۰-۹٠-٩][A-Za-z0-9_.۰-۹٠-٩]*[A-Za-z0-9_۰-۹٠-٩]|@[A-Za-z0-9_۰-۹٠-٩]")
_DIGIT = "[0-9۰-۹٠-٩]"
_PHONE = re.compile(
    rf"(?<![0-9۰-۹٠-٩\w])(?:(?:\+|00)(?:98|۹۸)[\s-]?{_DIGIT}{{3}}[\s-]?{_DIGIT}{{3}}[\s-]?{_DIGIT}{{4}}"
    rf"|(?:0|۰|٠){_DIGIT}{{2,3}}[\s-]?{_DIGIT}{{3,4}}[\s-]?{_DIGIT}{{4}})(?![0-9۰-۹٠-٩\w])"
)
_HASHTAG = re.compile(r"(?<!&)#\u200c*([^\W\d_][\w\u200c]*)")
_PLACEHOLDERS = ("<url>", "<email>", "<user>", "<phone>")

#: Hosts of the messengers' links, and the name of the messenger each is kept as (an
#: unambiguous alias of its target in the target list). Subdomains count (web.eitaa.com).
MESSENGER_DOMAINS: dict[str, str] = {
    "t.me": "telegram", "telegram.me": "telegram", "telegram.org": "telegram", "telegram.dog": "telegram",
    "telesco.pe": "telegram",
    "eitaa.com": "eitaa", "eitaa.ir": "eitaa",
    "splus.ir": "soroush plus", "sapp.ir": "soroush plus", "soroush-app.ir": "soroush plus",
    "soroushplus.com": "soroush plus",
    "bale.ai": "bale messenger", "ble.ir": "bale messenger",
    "gap.im": "gap messenger",
    "igap.net": "igap",
    "wispi.ir": "wispi",
    "rubika.ir": "rubika", "rubika.com": "rubika",
}
#: Words in an @id that name a messenger (the id is cut at ``_``, ``.`` and digits): only names
#: that are not also people's names or words (no «soroush», «gap», «bale»).
MESSENGER_HANDLES: dict[str, str] = {
    "telegram": "telegram", "eitaa": "eitaa", "rubika": "rubika", "igap": "igap", "wispi": "wispi",
    "soroushplus": "soroush plus", "splus": "soroush plus",
}
_HOST = re.compile(r"(?i)^(?:[a-z]+://)?(?:www\.)?([^/:?#\s]+)")
_HANDLE_PARTS = re.compile(r"[_.0-9۰-۹٠-٩]+")

# repeats --------------------------------------------------------------------
_REPEAT_RUN = re.compile(rf"([{_LETTER_CLASS}a-zA-Z])\1{{2,}}")
_REPEAT_WORD = re.compile(rf"[{_LETTER_CLASS}\u200c]*([{_LETTER_CLASS}])\1{{2,}}[{_LETTER_CLASS}\u200c]*")
_LATIN_REPEAT = re.compile(r"([a-zA-Z])\1{2,}")
_PUNCT_RUN = re.compile(r"[!?؟]{2,}")
_DOTS = re.compile(r" ?\.{3,}| ?…+")
_OTHER_PUNCT_RUN = re.compile(r"([.،,؛;:\-_*~=+])\1{3,}")

# spacing --------------------------------------------------------------------
_MULTI_SPACE = re.compile(r"[ \t]+")
_SPACE_NL = re.compile(r" *\n *")
_MULTI_NL = re.compile(r"\n{3,}")
_PUNC_AFTER = r"\.:!،؛؟»\]\)\}"
_PUNC_BEFORE = r"«\[\(\{"
_SPACE_BEFORE_CLOSE = re.compile(rf" +([{_PUNC_AFTER}])")
_SPACE_AFTER_OPEN = re.compile(rf"([{_PUNC_BEFORE}]) +")
_NEED_SPACE_AFTER_DOT = re.compile(rf"([.:!])(?=[{_LETTER_CLASS}])")
_NEED_SPACE_AFTER = re.compile(rf"([،؛؟»\]\)\}}])(?=[^\s{_PUNC_AFTER}])")
_NEED_SPACE_BEFORE = re.compile(rf"(?<=[^\s{_PUNC_BEFORE}])([{_PUNC_BEFORE}])")
_DIGIT_LETTER = re.compile(rf"(?<=[0-9۰-۹])(?=[{_LETTER_CLASS}])|(?<=[{_LETTER_CLASS}])(?=[0-9۰-۹])")
_EMOJI_WORD = re.compile(
    rf"(?<=[\w\u200c])(?=[{_EMOJI_RANGES}])|(?<=[{_EMOJI_RANGES}{_EMOJI_MOD}])(?=[^\W_])"
)
_PLACEHOLDER_GLUE = re.compile(r"(?<=\w)(?=<(?:url|email|user|phone)>)|(?:(?<=<url>)|(?<=<user>)|(?<=<email>)|(?<=<phone>))(?=\w)")

# half-spaces ----------------------------------------------------------------
_ZWNJ_RUN = re.compile("\u200c{2,}")
_ZWNJ_NEAR_SPACE = re.compile(r"\u200c+(?=\s)|(?<=\s)\u200c+")
_ZWNJ_BAD = re.compile(
    f"(?<![{''.join(sorted(_DUAL_JOINING))}])\u200c|\u200c(?![{_LETTER_CLASS}])"
)
_TOKEN = re.compile(rf"[{_LETTER_CLASS}\u200c]+|<(?:url|email|user|phone)>|\S")

# ---------------------------------------------------------------------------
# morphology for half-space restoration
# ---------------------------------------------------------------------------
#: curated domain compounds (messengers, internet, apps) not in hazm's list or
#: spelled differently there. Entries without ZWNJ teach the joining of their
#: spaced form (فیلتر شکن -> فیلترشکن).
DOMAIN_COMPOUNDS: tuple[str, ...] = (
    "پیام‌رسان", "پیام‌رسانی", "پیام‌رسانه", "پیام‌گیر", "فیلترشکن", "ضدفیلتر", "فیلترنشده",
    "فیلترشده", "نرم‌افزار", "سخت‌افزار", "نرم‌افزاری", "سخت‌افزاری", "برنامه‌نویس",
    "برنامه‌نویسی", "برنامه‌ریزی", "توسعه‌دهنده", "توسعه‌دهندگان", "اطلاع‌رسانی",
    "شبکه‌سازی", "بومی‌سازی", "داخلی‌سازی", "سوپرگروه", "ابرگروه", "وی‌پی‌ان", "کاربرپسند",
    "بی‌کیفیت", "بی‌ارزش", "بی‌خود", "بی‌خودی", "بی‌مصرف", "بی‌فایده", "بی‌نظیر", "بی‌دلیل",
    "بی‌اعتماد", "بی‌اعتمادی", "هم‌وطن", "هم‌وطنان", "هم‌زمان", "هم‌چنین", "هم‌چنان",
    "بی‌سیم", "پشتیبانی", "دانش‌بنیان", "اینترنت‌ملی", "سرویس‌دهی", "سرویس‌دهنده",
    "رایانه‌ای", "رسانه‌ای", "حرفه‌ای", "شبکه‌ای", "ماهواره‌ای", "دوره‌ای", "لحظه‌ای",
    "چندرسانه‌ای", "ویدیو‌کال", "تماس‌تصویری", "خوش‌حال", "خوش‌بختانه", "بدبختانه",
    "امنیت‌سنجی", "جاسوس‌افزار", "باج‌افزار", "بدافزار", "هوش‌مصنوعی",
)
# (spaced forms of the two "X‌Y" entries above whose second part is an
# independent word - اینترنت‌ملی, تماس‌تصویری, هوش‌مصنوعی - are dropped below:
# those are normally written with a space.)
_SPACED_NOT_COMPOUND = {"اینترنت‌ملی", "تماس‌تصویری", "هوش‌مصنوعی", "ویدیو‌کال"}

#: words that end in ه but never take the suffixes ای/ام/اش/... with ZWNJ
_FUNCTION_H = {"که", "چه", "نه", "به", "ره", "شه", "مه", "ته", "وه", "اه", "آه", "هه", "ده", "یه", "سه"}
#: prepositions etc. that hazm's list joins to the next word (به‌عنوان, ...): we keep the space
_NO_JOIN_PREFIX = {"به", "در", "از", "با", "بر", "تا", "که", "و", "را", "یا", "چه", "هر"}

_PLURAL_SUFFIXES = (
    "هایشان", "هایتان", "هایمان", "هاشون", "هاتون", "هامون", "هایی", "هایم", "هایت", "هایش",
    "های", "هام", "هات", "هاش", "هارو", "ها",
)
_COMPARATIVE_SUFFIXES = ("ترینها", "ترین", "تری", "تر")
_H_SUFFIXES = (
    "ایم", "اید", "اند", "ای", "ام", "ات", "اش", "ی", "مان", "تان", "شان", "مون", "تون", "شون",
)
_UNKNOWN_PLURAL = re.compile(f"(?<=[{_LETTER_CLASS}]{{3}})(?:های|هایی|هایم|هایت|هایش|هایمان|هایتان|هایشان)$")
_YEH_SUFFIXES = ("ام", "ایم", "اید", "اند", "اش", "ات")
#: participles and infinitives of light verbs: «نصب کرده» stays two words
_LIGHT_VERB_FORMS = {
    "کرده", "شده", "یافته", "گرفته", "داده", "زده", "نموده", "گشته", "کردن", "شدن", "دادن",
    "گرفتن", "زدن", "کرد", "شد", "داد", "کند", "شود", "دهد", "کردند", "شدند",
}
_LIGHT_PARTICIPLES = ("کرده", "شده", "یافته", "گرفته", "داده", "زده", "نموده", "گشته", "کردن", "شدن", "دادن", "گرفتن", "زدن")
_SPACED_H_SUFFIXES = {"ایم", "اید", "اند", "ای", "ام", "ات", "اش", "ی"}
_SPACED_PLURAL = {
    "ها", "های", "هایی", "هایم", "هایت", "هایش", "هایمان", "هایتان", "هایشان",
    "هام", "هات", "هاش", "هامون", "هاتون", "هاشون", "هارو",
}
_SPACED_COMPARATIVE = {"تر", "ترین", "تری"}

#: words ending in a pronounced ه (گاه, راه, ماه, کوه, شبیه): ی and the
#: pronominal suffixes join them directly (گاهی, راهش), never with ZWNJ
_PRONOUNCED_H_ENDS = (
    "اه", "آه", "کوه", "گروه", "شکوه", "انبوه", "اندوه", "ستوه", "پژوه", "شبیه", "فقیه", "تنبیه",
    "تشبیه", "توجیه", "تنزیه", "کریه", "سفیه", "وجیه", "نزیه", "توجه", "مواجه", "موجه", "مشابه",
    "مشتبه", "منتبه", "تنبه", "فقه", "منزه", "ابله", "مکروه", "الله",
)
_PRONOUNCED_H_WORDS = {"وجه", "شبه", "اله", "تفقه", "مه", "به", "ده"}
#: first words after which a spaced word is never made part of a compound
#: (determiners, quantifiers, numerals): «یک میلیون», «این خواننده»
_NO_COMPOUND_AFTER = {
    "این", "آن", "یک", "هر", "چند", "چندین", "همین", "همان", "چنین", "چنان", "برخی", "بعضی",
    "فلان", "کدام", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "ده", "یازده",
    "دوازده", "سیزده", "چهارده", "پانزده", "شانزده", "هفده", "هجده", "نوزده", "بیست", "سی",
    "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود", "صد", "دویست", "سیصد", "چهارصد", "پانصد",
    "ششصد", "هفتصد", "هشتصد", "نهصد", "هزار", "میلیون", "میلیارد",
}
#: bound second parts (not words on their own) that form compounds with ZWNJ
#: after any noun: گله‌مند, روزنامه‌نگار, دانش‌آموز, انعطاف‌پذیر
_BOUND_TAILS = ("مند", "نگار", "آموز", "پذیر")
#: further compound tails that take ZWNJ after a noun ending in silent ه
#: (هفته‌نامه, برنامه‌ریزی, خانه‌دار); fused input only
_H_HEAD_TAILS = _BOUND_TAILS + (
    "گذار", "ساز", "ریز", "دار", "نویس", "خوان", "رسان", "نامه", "وار", "گیر", "سنج", "شناس",
)
_TAIL_ENDINGS = ("", "ان", "ی", "ها", "های", "انه")
_MAND_ENDINGS = ("ند", "یم", "ید", "م")  # copula after adjectives in مند: گله‌مندند
#: agent nouns of light verbs are bound (مصرف‌کننده, تصمیم‌گیرندگان); other ـنده
#: nouns are words of their own (خواننده, نماینده) and stay apart after a space
_BOUND_AGENT_STEMS = {"کن", "ده", "گیر", "شو", "گذار", "رسان", "یاب", "کش"}
#: endings that a compound from the lexicon takes without ZWNJ: دانش‌آموزان, گله‌مندند
_COMPOUND_ENDINGS = ("ان", "ی", "ند")
#: endings after which a spaced lexicon compound is still recognised
_SPACED_COMPOUND_ENDINGS = ("ی", "ای", "ها", "های", "هایی", "تر", "ترین", "ان")
_PRONOMINAL_SPACED = {"شان", "مان", "تان", "شون", "مون", "تون"}
_COLLOQUIAL_PLURAL_CLITIC = {"هام", "هات", "هاش"}

_PRESENT_ENDINGS = ("م", "ی", "د", "یم", "ید", "ند", "ه", "ن", "ین", "یمو", "یش")
_PAST_ENDINGS = ("", "م", "ی", "یم", "ید", "ند", "ن", "ین", "ه")
_CLITICS = ("", "ش", "م", "ت", "شون", "مون", "تون", "شان", "مان", "تان", "ش", "و", "ت")

#: colloquial present stems (beside hazm's informal list)
_COLLOQUIAL_PRESENT = (
    "گ", "ش", "ر", "د", "ذار", "زار", "دون", "تون", "خوا", "خا", "یا", "ا", "کن", "گیر", "بین",
    "شن", "زن", "مون", "خون", "پرس", "ر", "رس", "گرد", "فرست", "ساز", "سوز", "کش", "ذر",
)


#: Colloquial present stems of آمدن and آوردن written with a plain alef (میاد, میام, میارن): after
#: می/نمی they are written joined, never «می‌اد».
_PLAIN_ALEF_STEMS = frozenset({"ا", "ار", "یا"})


def _is_joining(ch: str) -> bool:
    return ch in _DUAL_JOINING


def _silent_h(word: str) -> bool:
    """``word`` ends in a silent ه (خانه, گذشته), after which suffixes take ZWNJ."""
    return (len(word) >= 2 and word.endswith("ه") and word not in _FUNCTION_H
            and not word.endswith(_PRONOUNCED_H_ENDS) and word not in _PRONOUNCED_H_WORDS)


class _Lexicon:
    """Word list, compound table and verb stems, built once from hazm's data."""

    def __init__(self) -> None:
        self.freq: dict[str, int] = {}
        self.weak: set[str] = set()  # hazm entries marked unchecked (freq 0, tag 0)
        self.tags: dict[str, frozenset] = {}
        self.compounds: dict[str, str] = {}  # ZWNJ-less form -> form with ZWNJ
        self.compound_heads: set[str] = set()
        self.spaced_compounds: dict[tuple[str, ...], str] = {}
        self.present: set[str] = set()
        self.past: set[str] = set()
        self._load_words()
        self._load_verbs()
        self._load_domain()

    # -- loading ---------------------------------------------------------------
    @staticmethod
    def _hazm_entries() -> list[tuple[str, int, tuple]]:
        try:
            from hazm.utils import words_list  # hazm 0.10 and 0.12

            return list(words_list())
        except Exception:  # pragma: no cover - unusual hazm layout
            pass
        text = _read_hazm_data("words.dat")
        out = []
        for line in text.splitlines():
            parts = line.strip().split("\t")
            if len(parts) == 3:
                try:
                    out.append((parts[0], int(parts[1]), tuple(parts[2].split(","))))
                except ValueError:
                    continue
        return out

    def _load_words(self) -> None:
        for word, freq, tags in self._hazm_entries():
            word = word.translate(_CHAR_TABLE)
            real = tags != ("0",) and tags != ("",)
            if freq <= 0 and not real:
                # hazm's list holds many unchecked entries: inflections (کتابها)
                # but also plain words (گوشی, فایل); they serve as weak stems only
                if ZWNJ not in word and len(word) >= 3:
                    self.weak.add(word)
                continue
            f = max(int(freq), 0) + 1
            if ZWNJ in word:
                parts = word.split(ZWNJ)
                if not all(parts):
                    continue
                if parts[0] in _NO_JOIN_PREFIX and not (parts[0] == "به" and "ADV" in tags):
                    continue
                self._add_compound(word, f)
            else:
                if f > self.freq.get(word, 0):
                    self.freq[word] = f
                self.tags[word] = self.tags.get(word, frozenset()) | frozenset(tags)

    def _add_compound(self, word: str, f: int) -> None:
        plain = word.replace(ZWNJ, "")
        if plain in self.freq and self.freq[plain] > f:
            return
        self.compounds.setdefault(plain, word)
        self.freq[word] = max(self.freq.get(word, 0), f)
        parts = word.split(ZWNJ)
        self.compound_heads.add(parts[0])
        if word not in _SPACED_NOT_COMPOUND:
            self.spaced_compounds[tuple(parts)] = word

    def _load_verbs(self) -> None:
        try:
            text = _read_hazm_data("verbs.dat")
        except Exception:  # pragma: no cover
            text = ""
        for line in text.splitlines():
            line = line.strip()
            if "#" not in line:
                continue
            past, present = line.split("#", 1)
            past, present = past.translate(_CHAR_TABLE), present.translate(_CHAR_TABLE)
            if past:
                self.past.add(past)
            if present:
                self.present.add(present)
                if present[-1] in "اوآ":
                    self.present.add(present + "ی")
        try:
            itext = _read_hazm_data("iverbs.dat")
        except Exception:  # pragma: no cover
            itext = ""
        for line in itext.splitlines():
            bits = line.split()
            if len(bits) >= 2 and "#" in bits[0]:
                self.present.add(bits[1].translate(_CHAR_TABLE))
        self.present.update(_COLLOQUIAL_PRESENT)
        self.present.discard("")
        # colloquial past stems: تونست, دونست, خوند
        self.past.update({"تونست", "دونست", "خوند", "موند", "رسوند", "گذروند", "شد", "کرد"})

    def _load_domain(self) -> None:
        top = max(self.freq.values(), default=1)
        for word in DOMAIN_COMPOUNDS:
            if ZWNJ in word:
                self.compounds[word.replace(ZWNJ, "")] = word
                self.freq[word] = max(self.freq.get(word, 0), top // 1000)
                parts = word.split(ZWNJ)
                self.compound_heads.add(parts[0])
                if word not in _SPACED_NOT_COMPOUND:
                    self.spaced_compounds[tuple(parts)] = word
            else:
                self.freq[word] = max(self.freq.get(word, 0), top // 1000)
        # spaced forms of ZWNJ-less domain compounds: فیلتر شکن -> فیلترشکن
        for word, split in (("فیلترشکن", ("فیلتر", "شکن")), ("ضدفیلتر", ("ضد", "فیلتر")),
                            ("سوپرگروه", ("سوپر", "گروه")), ("کاربرپسند", ("کاربر", "پسند"))):
            self.spaced_compounds[split] = word
            self.compound_heads.add(split[0])
        for w in ("فیلتر", "رسان", "ایتا", "روبیکا", "اپ", "اپلیکیشن", "استیکر", "گیف", "پیامک",
                  "گوشی", "موبایل", "سرور", "سرویس", "فایل", "ویدیو", "ویدئو", "کانال", "استوری",
                  "لینک", "پست", "کاربر", "اکانت", "سایت", "اپلیکیشن", "تبلت", "لپ‌تاپ"):
            self.freq.setdefault(w, 1000)

    # -- queries ---------------------------------------------------------------
    def known(self, word: str) -> bool:
        return word in self.freq

    def is_verb_rest(self, rest: str) -> bool:
        """``rest`` can follow می/نمی: a verb stem plus a personal ending (and clitic)."""
        return self.verb_stem(rest) is not None

    def verb_stem(self, rest: str) -> str | None:
        """The stem of ``rest`` when it can follow می/نمی (see :meth:`is_verb_rest`), else None."""
        if len(rest) < 1:
            return None
        for clitic in _CLITICS:
            if clitic and not rest.endswith(clitic):
                continue
            body = rest[: len(rest) - len(clitic)] if clitic else rest
            if not body:
                continue
            for end in _PRESENT_ENDINGS:
                if body.endswith(end) and body[: len(body) - len(end)] in self.present:
                    return body[: len(body) - len(end)]
            for end in _PAST_ENDINGS:
                if end and not body.endswith(end):
                    continue
                stem = body[: len(body) - len(end)] if end else body
                if stem in self.past:
                    return stem
        return None


def _read_hazm_data(name: str) -> str:
    try:
        from importlib.resources import files

        return (files("hazm") / "data" / name).read_text(encoding="utf-8")
    except Exception:
        import os

        import hazm  # noqa: F401

        path = os.path.join(os.path.dirname(sys.modules["hazm"].__file__), "data", name)
        with open(path, encoding="utf-8") as fh:
            return fh.read()


@functools.lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return _Lexicon()


class _Restorer:
    """Half-space restoration over one lexicon, with per-word caching."""

    def __init__(self, lex: _Lexicon) -> None:
        self.lex = lex
        self.restore_word = functools.lru_cache(maxsize=200_000)(self._restore_word)

    # ---- single (possibly fused) word ---------------------------------------
    def _stem_form(self, stem: str) -> tuple[str, int] | None:
        """Known spelling of ``stem`` (ZWNJ-less) and its frequency, or None."""
        lex = self.lex
        if stem in lex.freq and ZWNJ not in stem:
            return stem, lex.freq[stem]
        comp = lex.compounds.get(stem)
        if comp is not None:
            return comp, lex.freq.get(comp, 1)
        if stem in lex.weak:
            return stem, 0
        return None

    def _restore_word(self, word: str) -> str:
        lex = self.lex
        plain = word.replace(ZWNJ, "")
        if len(plain) < 3:
            return word
        if ZWNJ not in word and plain in lex.freq:
            return word
        whole_weak = plain in lex.weak
        best: tuple[int, str] | None = None
        comp = lex.compounds.get(plain)
        if comp is not None:
            best = (lex.freq.get(comp, 1) * 4, comp)
        # verbal prefix
        for pre in ("برنمی", "برمی", "درنمی", "درمی", "فرونمی", "فرومی", "نمی", "می"):
            if plain.startswith(pre) and len(plain) > len(pre) + 1:
                rest = plain[len(pre):]
                stem = lex.verb_stem(rest)
                if stem is not None:
                    # «میاد», «میارم»: a colloquial آ-stem written with a plain alef stays joined, since
                    # «می‌اد» would be read with a bare alef; the careful spelling is «می‌آد»
                    cand = pre + ("" if stem in _PLAIN_ALEF_STEMS else ZWNJ) + rest
                    score = 10**12
                    if best is None or score > best[0]:
                        best = (score, cand)
                break
        # suffixes
        for suffixes, need_h, need_adj in (
            (_PLURAL_SUFFIXES, False, False),
            (_COMPARATIVE_SUFFIXES, False, True),
            (_H_SUFFIXES, True, False),
            (_YEH_SUFFIXES, "ی", False),
        ):
            for suf in suffixes:
                if not plain.endswith(suf) or len(plain) - len(suf) < 2:
                    continue
                stem = plain[: -len(suf)]
                if need_h is True and not _silent_h(stem):
                    continue  # گاهی, راهش: ی and clitics join a pronounced ه directly
                if suf in _COLLOQUIAL_PLURAL_CLITIC and _silent_h(stem + "ه") and (stem + "ه") in lex.freq:
                    continue  # خانهام is خانه‌ام, not خان‌هام
                if need_h == "ی" and not stem.endswith("ی"):
                    continue
                if need_adj and (stem + "تر") in lex.freq:
                    continue  # lexicalised comparative: بیشتر, کمتر, بهتر -> بیشترین
                if need_h and stem in _FUNCTION_H:
                    continue
                form = self._stem_form(stem)
                if form is None:
                    continue
                stem_form, f = form
                if f == 0 and whole_weak and suffixes is not _PLURAL_SUFFIXES:
                    continue
                if need_adj and not self._adjective_like(stem, stem_form):
                    continue
                if _is_joining(stem_form[-1]):
                    cand = stem_form + ZWNJ + suf
                else:
                    cand = stem_form + suf
                if best is None or f > best[0]:
                    best = (f, cand)
        if best is None:
            best = self._compound_split(plain, whole_weak)
        if best is None:
            best = self._agent_split(plain)
        if best is None:
            # شنبهها -> شنبه‌ها : ه before ها is always a boundary
            m = re.search("ه(ها|های|هایی)$", plain)
            if m and len(plain) > len(m.group(1)) + 2:
                cut = len(plain) - len(m.group(1))
                return plain[:cut] + ZWNJ + plain[cut:]
            # unknown stem + های...: a plural all the same (گوشیهای -> گوشی‌های)
            m = _UNKNOWN_PLURAL.search(plain)
            if m and ZWNJ not in word and not whole_weak and _is_joining(plain[m.start() - 1]):
                return plain[: m.start()] + ZWNJ + plain[m.start():]
            return word
        cand = best[1]
        if ZWNJ in word:
            # keep the writer's own half-spaces unless our analysis has all of them
            if not _zwnj_positions(word) <= _zwnj_positions(cand):
                return word
        return cand

    def _adjective_like(self, stem: str, stem_form: str) -> bool:
        """``stem`` can take تر/ترین: an adjective or adverb, a compound adjective
        (کم‌مصرف), or a ی-final adjective (قدیمی, from قدیم)."""
        lex = self.lex
        if lex.tags.get(stem_form, frozenset()) & {"AJ", "ADV"}:
            return True
        if ZWNJ in stem_form:
            return True
        return stem.endswith("ی") and len(stem) >= 4 and (
            stem in lex.freq or (stem in lex.weak and lex.freq.get(stem[:-1], 0) > 1))

    def _compound_split(self, plain: str, whole_weak: bool) -> tuple[int, str] | None:
        """Compounds the lexicon does not list in this form.

        * a lexicon compound plus an ending it takes without ZWNJ:
          دانشآموزان -> دانش‌آموزان, گلهمندند -> گله‌مندند;
        * a noun in silent ه plus a compound tail: روزنامهنگاران -> روزنامه‌نگاران;
        * نیم plus a noun: نیمساعت -> نیم‌ساعت.
        """
        lex = self.lex
        if whole_weak or plain in lex.compounds:
            return None
        for end in _COMPOUND_ENDINGS:
            stem = plain[: -len(end)]
            comp = lex.compounds.get(stem)
            if (plain.endswith(end) and comp is not None and comp[-1] not in "اوی" and not _silent_h(comp)
                    and stem not in lex.freq and stem not in lex.weak):
                return (lex.freq.get(comp, 1), comp + end)
        for tail in _H_HEAD_TAILS:
            k = plain.find(tail, 3)
            while k != -1:
                head, rest = plain[:k], plain[k + len(tail):]
                endings = _TAIL_ENDINGS + (_MAND_ENDINGS if tail == "مند" else ())
                if rest in endings and _silent_h(head) and lex.freq.get(head, 0) > 1:
                    return (lex.freq[head], head + ZWNJ + plain[k:])
                k = plain.find(tail, k + 1)
        if plain.startswith("نیم") and len(plain) >= 6:
            rest = plain[3:]
            if "N" in lex.tags.get(rest, frozenset()) and lex.freq.get(rest, 0) > 1000:
                return (lex.freq[rest], "نیم" + ZWNJ + rest)
        return None

    def _agent_split(self, plain: str) -> tuple[int, str] | None:
        """تصمیمگیرندگان -> تصمیم‌گیرندگان: known noun + present stem + نده/ندگان."""
        lex = self.lex
        for end in ("ندگان", "نده"):
            if not plain.endswith(end):
                continue
            body = plain[: -len(end)]
            for k in range(2, len(body) - 1):
                head, stem = body[:k], body[k:]
                if stem in lex.present and lex.freq.get(head, 0) > 1000 and _is_joining(head[-1]):
                    return (1, head + ZWNJ + stem + end)
        return None

    # ---- a sequence of tokens ----------------------------------------------
    def join_tokens(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        n = len(tokens)
        i = 0
        while i < n:
            tok = tokens[i]
            if not _is_word(tok):
                out.append(tok)
                i += 1
                continue
            raw = tok
            tok = self.restore_word(tok)
            if out and _is_word(out[-1]):
                prev = out[-1]
                prev_prev = out[-2] if len(out) >= 2 else ""
                joined = self._join_pair(prev_prev, prev, tok, raw)
                if joined is not None:
                    out[-1] = joined
                    i += 1
                    continue
            out.append(tok)
            i += 1
        return out

    def _join_pair(self, before: str, prev: str, tok: str, raw: str) -> str | None:
        lex = self.lex
        glue = ZWNJ if _is_joining(prev[-1]) else ""
        # verbal prefix standing alone
        if prev in ("می", "نمی", "برمی", "برنمی", "درمی", "درنمی"):
            if prev == "می" and (before == "ماه" or _is_number(before)):
                return None
            stem = lex.verb_stem(tok.replace(ZWNJ, ""))
            if stem is not None and tok not in ("و", "یا"):
                return prev + ("" if stem in _PLAIN_ALEF_STEMS else ZWNJ) + tok
            return None
        raw_plain = raw.replace(ZWNJ, "")
        # after a determiner or numeral only suffixes attach: «یک میلیون», «این خواننده»
        compound_ok = tok in _SPACED_PLURAL or (
            prev not in _NO_COMPOUND_AFTER and not _is_number(before) and not (
                # an Arabic-article word that stands alone stays apart: «بسم الله»
                raw_plain.startswith("ال") and raw_plain in lex.freq))
        # compounds from the lexicon: پیام رسان -> پیام‌رسان
        comp = lex.spaced_compounds.get((prev, tok))
        if comp is not None and tok not in _LIGHT_VERB_FORMS and compound_ok:
            return comp
        if compound_ok and tok not in _LIGHT_VERB_FORMS and raw_plain not in lex.freq:
            for end in _SPACED_COMPOUND_ENDINGS:
                if raw_plain.endswith(end) and len(raw_plain) > len(end) + 1:
                    comp = lex.spaced_compounds.get((prev, raw_plain[: -len(end)]))
                    if comp is not None:
                        cand = self.restore_word(comp.replace(ZWNJ, "") + end)
                        if cand.startswith(comp):
                            return cand  # قابل توجهی -> قابل‌توجهی
        if compound_ok and prev == "نیم" and before != "و" and len(tok) >= 3 and (
                "N" in lex.tags.get(tok, frozenset()) and lex.freq.get(tok, 0) > 1000):
            return prev + ZWNJ + tok  # نیم ساعت -> نیم‌ساعت
        if compound_ok and self._bound_tail(raw_plain) and lex.freq.get(prev, 0) > 1:
            # روزنامه نگاران, گله مندند; other heads only as lexicon compounds (دانش آموزان)
            cand = self.restore_word(prev + raw_plain)
            if _silent_h(prev) or (glue and cand.startswith(prev + ZWNJ)) or (
                    not glue and ZWNJ not in cand and any(
                        (prev + t) in lex.compounds or (prev + t) in lex.freq for t in _BOUND_TAILS
                        if raw_plain.startswith(t))):
                return prev + glue + raw_plain
        if (compound_ok and prev in lex.compound_heads and not self._standalone(raw_plain)
                and not any(raw_plain.startswith(f) for f in _LIGHT_PARTICIPLES)):
            cand = self.restore_word(prev + raw_plain)
            if cand.startswith(prev + glue) and cand.replace(ZWNJ, "") == prev + raw_plain and (
                glue or cand != prev + raw_plain
            ) and not any(cand.startswith(x) for x in _SPACED_NOT_COMPOUND):
                if _zwnj_positions(raw) <= {p - len(prev) for p in _zwnj_positions(cand)}:
                    return cand
        if len(prev) < 2 or prev in _NO_JOIN_PREFIX:
            return None
        if tok in _SPACED_PLURAL and prev not in ("این", "آن", "همین", "همان") and not (
                prev.endswith(("ها", "های")) and tok.startswith("ها")):
            return prev + glue + tok
        if tok in _SPACED_COMPARATIVE:
            tags = lex.tags.get(prev, frozenset())
            if tags & {"AJ", "ADV"} or prev not in lex.freq or ZWNJ in prev:
                return prev + glue + tok  # کم‌مصرف تر -> کم‌مصرف‌تر
            return None
        if tok in _SPACED_H_SUFFIXES and _silent_h(prev):
            return prev + ZWNJ + tok
        if tok in _PRONOMINAL_SPACED and _silent_h(prev) and lex.freq.get(prev, 0) > 1:
            return prev + ZWNJ + tok  # گذشته شان -> گذشته‌شان
        if tok in ("ام", "ایم", "اید", "اند") and prev.endswith("ی") and (
                prev in lex.freq or prev in lex.weak):
            return prev + ZWNJ + tok
        if compound_ok and (tok.endswith("نده") or tok.endswith("ندگان")) and lex.freq.get(prev, 0) > 1000:
            stem = tok[:-3] if tok.endswith("نده") else tok[:-5]
            if stem in lex.present and len(stem) >= 2 and (
                    stem in _BOUND_AGENT_STEMS or (stem + "نده") not in lex.freq):
                return prev + glue + tok
        if tok in ("گر", "گری") and prev in lex.freq and prev not in _NO_JOIN_PREFIX:
            return prev + glue + tok
        return None

    def _standalone(self, word: str) -> bool:
        """``word`` (ZWNJ-less) is a word of its own, not the second part of a
        compound that lost its ZWNJ: a lexicon word, a ی-adjective of one
        (تصویری), or an unchecked entry that is no inflection (مصنوعی)."""
        lex = self.lex
        if word in lex.freq:
            return True
        if word.endswith("ی") and len(word) >= 4 and word[:-1] in lex.freq:
            return True
        # plurals in ان / گان of a lexicon word: نمایندگان, سازندگان
        if word.endswith("گان") and len(word) >= 6 and (word[:-3] + "ه") in lex.freq:
            return True
        if word.endswith("ان") and len(word) >= 5 and word[:-2] in lex.freq:
            return True
        if word in lex.weak and not word.endswith(("ها", "های", "هایی")):
            return self.restore_word(word) == word
        return False

    @staticmethod
    def _bound_tail(word: str) -> bool:
        """``word`` is a bound compound tail: نگاران, آموزان, مندند."""
        for tail in _BOUND_TAILS:
            if word.startswith(tail):
                rest = word[len(tail):]
                if rest in _TAIL_ENDINGS or (tail == "مند" and rest in _MAND_ENDINGS):
                    return True
        return False


def _zwnj_positions(word: str) -> set[int]:
    pos, k = set(), 0
    for ch in word:
        if ch == ZWNJ:
            pos.add(k)
        else:
            k += 1
    return pos


_WORD_CHARS = set(_LETTER_CLASS) | {ZWNJ}


def _is_word(tok: str) -> bool:
    return bool(tok) and tok[0] in _WORD_CHARS and tok[-1] in _WORD_CHARS


def _is_number(tok: str) -> bool:
    return bool(tok) and all(c.isdigit() for c in tok)


@functools.lru_cache(maxsize=1)
def _restorer() -> _Restorer:
    return _Restorer(_lexicon())


# ---------------------------------------------------------------------------
# configuration and the normaliser
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NormalizerConfig:
    """Which normalisation steps run, and how. Every step can be switched off."""

    sanitize: bool = True
    replace_entities: bool = True
    hashtags_to_words: bool = True
    unify_chars: bool = True
    digits: str = "latin"  # "latin", "persian" or "keep"
    squash_repeats: bool = True
    correct_spacing: bool = True
    collapse_spaces: bool = True
    restore_halfspaces: bool = True
    #: A messenger's link or @id keeps the messenger's name after its placeholder (step 2).
    entity_names: bool = True

    def __post_init__(self) -> None:
        if self.digits not in ("latin", "persian", "keep"):
            raise ValueError(f"digits must be 'latin', 'persian' or 'keep', not {self.digits!r}")
        for f in fields(self):
            if f.name != "digits" and not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name} must be a bool, not {getattr(self, f.name)!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "NormalizerConfig":
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown normaliser setting(s): {', '.join(unknown)}")
        return cls(**data)


class Normalizer:
    """Normalise one text at a time: ``Normalizer()(text) -> str``."""

    def __init__(self, config: NormalizerConfig | None = None, **overrides) -> None:
        base = config or NormalizerConfig()
        self.config = NormalizerConfig.from_dict({**base.to_dict(), **overrides})

    # -- steps -------------------------------------------------------------------
    def sanitize(self, text: str) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = _SURROGATES.sub("", text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROLS.sub("", text)
        return _SPACE_CHARS.sub(" ", text)

    def replace_entities(self, text: str) -> str:
        text = self.fix_zwnj(text)  # a stray ZWNJ must not hide an entity
        if "@" in text:
            text = _EMAIL.sub(" <email> ", text)
        names = self.config.entity_names
        if "." in text or "/" in text:
            text = _URL.sub(_named_url_sub if names else _url_sub, text)
        if "@" in text:
            text = _USER.sub(_named_user_sub if names else " <user> ", text)
        text = _PHONE.sub(" <phone> ", text)
        if self.config.hashtags_to_words and "#" in text:
            text = _HASHTAG.sub(lambda m: " " + m.group(1).replace("_", " ") + " ", text)
        return text

    def unify_chars(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = _HAMZA_AFTER_HEH.sub("ه\u200cی", text)
        text = text.translate(_CHAR_TABLE)
        if "\u200d" in text:
            text = _ZWJ_NOT_EMOJI.sub("", text)
        return self.fix_zwnj(text)

    def unify_digits(self, text: str) -> str:
        if self.config.digits == "latin":
            return text.translate(_TO_LATIN)
        if self.config.digits == "persian":
            return text.translate(_TO_PERSIAN)
        return text

    def squash_repeats(self, text: str) -> str:
        if _REPEAT_RUN.search(text):
            text = _REPEAT_WORD.sub(_squash_word, text)
            text = _LATIN_REPEAT.sub(r"\1\1", text)
        text = _PUNCT_RUN.sub(_squash_punct, text)
        text = _OTHER_PUNCT_RUN.sub(r"\1\1\1", text)
        text = _DOTS.sub(" …", text)
        return text

    def correct_spacing(self, text: str) -> str:
        text = self.fix_zwnj(text)
        text = _SPACE_BEFORE_CLOSE.sub(r"\1", text)
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
        text = _NEED_SPACE_AFTER_DOT.sub(r"\1 ", text)
        text = _NEED_SPACE_AFTER.sub(r"\1 ", text)
        text = _NEED_SPACE_BEFORE.sub(r" \1", text)
        text = _DIGIT_LETTER.sub(" ", text)
        text = _EMOJI_WORD.sub(" ", text)
        text = _PLACEHOLDER_GLUE.sub(" ", text)
        return text

    def collapse_spaces(self, text: str) -> str:
        if ZWNJ in text:
            text = _ZWNJ_NEAR_SPACE.sub("", text)
        text = _MULTI_SPACE.sub(" ", text)
        text = _SPACE_NL.sub("\n", text)
        text = _MULTI_NL.sub("\n\n", text)
        return text.strip()

    def restore_halfspaces(self, text: str) -> str:
        text = self.fix_zwnj(text)
        if not any("\u0600" <= c <= "\u06ff" for c in text):
            return text
        restorer = _restorer()
        lines = [_restore_line(restorer, line) for line in text.split("\n")]
        return self.fix_zwnj("\n".join(lines))

    def fix_zwnj(self, text: str) -> str:
        """Removes wrong half-spaces: doubled, at word edges, after non-joining letters."""
        if ZWNJ not in text:
            return text
        text = _ZWNJ_RUN.sub(ZWNJ, text)
        return _ZWNJ_BAD.sub("", text)

    # -- driver ----------------------------------------------------------------
    def normalize(self, text: str) -> str:
        cfg = self.config
        if cfg.sanitize or not isinstance(text, str):
            text = self.sanitize(text)
        if not text:
            return ""
        if cfg.unify_chars:
            text = self.unify_chars(text)
        if cfg.replace_entities:
            text = self.replace_entities(text)
        text = self.unify_digits(text)
        if cfg.squash_repeats:
            text = self.squash_repeats(text)
        if cfg.correct_spacing:
            text = self.correct_spacing(text)
        if cfg.collapse_spaces:
            text = self.collapse_spaces(text)
        if cfg.squash_repeats and cfg.correct_spacing:
            # «! !» became «!!» once the space before «!» went
            text = _PUNCT_RUN.sub(_squash_punct, text)
        if cfg.restore_halfspaces:
            text = self.restore_halfspaces(text)
        return text

    __call__ = normalize

    def normalize_many(self, texts: Iterable[str]) -> list[str]:
        return [self.normalize(t) for t in texts]


#: Packages whose data shapes normalisation (hazm's word and verb lists feed restore_halfspaces).
NORMALIZER_PACKAGES = ("hazm",)


def normalizer_versions() -> dict[str, str | None]:
    """The installed versions of :data:`NORMALIZER_PACKAGES` (``None``: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for pkg in NORMALIZER_PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


_CHUNK = re.compile(rf"[{_LETTER_CLASS}\u200c]+|[^{_LETTER_CLASS}\u200c]+")


def _restore_line(restorer: _Restorer, line: str) -> str:
    """Restore half-spaces in one line.

    The line is cut into word chunks and the rest; words separated by exactly
    one space form a run that can be joined (پیام رسان های -> پیام‌رسان‌های).
    """
    chunks = _CHUNK.findall(line)
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(" ".join(restorer.join_tokens(run)))
            run.clear()

    for chunk in chunks:
        if chunk[0] in _WORD_CHARS:
            run.append(chunk)
        elif chunk == " " and run:
            continue
        else:
            flush()
            out.append(chunk)
    flush()
    return "".join(out)


def _url_sub(m: re.Match, name: str | None = None) -> str:
    """``<url>`` (then ``name``, the messenger it links to, when given) and the punctuation the match took
    from the end of the sentence."""
    trail = _URL_TRAIL.search(m.group(0))
    return " <url> " + (f"{name} " if name else "") + (trail.group(0) if trail else "")


def _messenger_of_url(url: str) -> str | None:
    host = _HOST.match(url)
    if not host:
        return None
    host = host.group(1).lower().rstrip(".")
    while host:
        if host in MESSENGER_DOMAINS:
            return MESSENGER_DOMAINS[host]
        host = host.partition(".")[2]
        if "." not in host:
            return None
    return None


def _named_url_sub(m: re.Match) -> str:
    return _url_sub(m, _messenger_of_url(m.group(0)))


def _named_user_sub(m: re.Match) -> str:
    parts = _HANDLE_PARTS.split(m.group(0)[1:].lower())
    names = list(dict.fromkeys(MESSENGER_HANDLES[p] for p in parts if p in MESSENGER_HANDLES))
    return " <user> " + "".join(n + " " for n in names)


def _squash_word(m: re.Match) -> str:
    word = m.group(0)
    one = _REPEAT_RUN.sub(r"\1", word)
    two = _REPEAT_RUN.sub(r"\1\1", word)
    try:
        lex = _lexicon()
    except Exception:  # pragma: no cover - hazm missing
        return two
    one_known = lex.known(one.replace(ZWNJ, "")) or one.replace(ZWNJ, "") in lex.compounds
    two_known = lex.known(two.replace(ZWNJ, "")) or two.replace(ZWNJ, "") in lex.compounds
    if one_known and not two_known:
        return one
    if two_known and not one_known:
        return two
    if one_known:
        return one
    # unknown either way: a run of three+ letters is emphasis; one copy is the
    # likelier word unless the letter is ه (laughter: ههههه -> هه)
    return one if not re.fullmatch("ه+", one.replace(ZWNJ, "")) else two


def _squash_punct(m: re.Match) -> str:
    seen: list[str] = []
    for ch in m.group(0):
        if ch == "?":
            ch = "؟" if "؟" in m.group(0) else "?"
        if ch not in seen:
            seen.append(ch)
    return "".join(seen)


# ---------------------------------------------------------------------------
# emphasis, reported from the raw text
# ---------------------------------------------------------------------------
_ELONGATED = re.compile(rf"([{_LETTER_CLASS}a-zA-Z])\1{{2,}}")
_EMPH_PUNCT = re.compile(r"[!?؟]{2,}")
_EMOJI = re.compile(_EMOJI_CLASS)


def emphasis_features(text: str) -> dict[str, float]:
    """Emphasis that ``squash_repeats`` removes from the text, as numbers.

    Call it on the *raw* text: ``elongated`` (letters repeated 3+ times, e.g.
    خیلیییی), ``exclaim`` / ``question`` (counts of ! and ?/؟), ``punct_runs``
    (runs like ؟؟؟!!!), ``emoji`` (emoji count), ``kashida`` (ـ used to stretch).
    """
    if not isinstance(text, str):
        text = ""
    text = _SURROGATES.sub("", text).translate(_CHAR_TABLE_NO_KASHIDA)
    return {
        "elongated": float(len(_ELONGATED.findall(text))),
        "exclaim": float(text.count("!")),
        "question": float(text.count("?") + text.count("؟")),
        "punct_runs": float(len(_EMPH_PUNCT.findall(text))),
        "emoji": float(len(_EMOJI.findall(text))),
        "kashida": float(text.count("ـ")),
    }


_CHAR_TABLE_NO_KASHIDA = {k: v for k, v in _CHAR_TABLE.items() if k != ord("ـ")}
