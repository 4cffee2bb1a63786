"""Half-space (ZWNJ) restoration: the morphology (verbal prefixes, plural, comparative and
pronominal suffixes), the compound lexicon (hazm's word list plus :data:`DOMAIN_COMPOUNDS`) and
the restorer ``restore_halfspaces`` runs line by line. hazm is read on first use."""
from __future__ import annotations

import functools
import re
import sys

from .chars import ZWNJ, _CHAR_TABLE, _DUAL_JOINING, _LETTER_CLASS


_ZWNJ_RUN = re.compile("\u200c{2,}")
_ZWNJ_NEAR_SPACE = re.compile(r"\u200c+(?=\s)|(?<=\s)\u200c+")
_ZWNJ_BAD = re.compile(
    f"(?<![{''.join(sorted(_DUAL_JOINING))}])\u200c|\u200c(?![{_LETTER_CLASS}])"
)
_TOKEN = re.compile(rf"[{_LETTER_CLASS}\u200c]+|<(?:url|email|user|phone)>|\S")


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
