"""Links, e-mails, @ids, phone numbers and hashtags: the patterns of ``replace_entities``, and the
messengers a link's domain or an @id names (:data:`MESSENGER_DOMAINS`, :data:`MESSENGER_HANDLES`)."""
from __future__ import annotations

import re


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
