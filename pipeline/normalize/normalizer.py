"""The normaliser: :class:`NormalizerConfig` (the switchable steps and their settings, saved
with every model) and :class:`Normalizer`, which runs the steps in order; the versions of the
packages that shape its output (:func:`normalizer_versions`)."""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Iterable

from .chars import (ZWNJ, _CHAR_TABLE, _CONTROLS, _HAMZA_AFTER_HEH, _SPACE_CHARS, _SURROGATES, _TO_LATIN,
                    _TO_PERSIAN, _ZWJ_NOT_EMOJI)
from .entities import _EMAIL, _HASHTAG, _PHONE, _URL, _USER, _named_url_sub, _named_user_sub, _url_sub
from .halfspace import _ZWNJ_BAD, _ZWNJ_NEAR_SPACE, _ZWNJ_RUN, _restore_line, _restorer
from .spacing import (_DIGIT_LETTER, _DOTS, _EMOJI_WORD, _LATIN_REPEAT, _MULTI_NL, _MULTI_SPACE,
                      _NEED_SPACE_AFTER, _NEED_SPACE_AFTER_DOT, _NEED_SPACE_BEFORE, _OTHER_PUNCT_RUN,
                      _PLACEHOLDER_GLUE, _PUNCT_RUN, _REPEAT_RUN, _REPEAT_WORD, _SPACE_AFTER_OPEN,
                      _SPACE_BEFORE_CLOSE, _SPACE_NL, _squash_punct, _squash_word)


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
