"""Table tests for pipeline.normalize (issue 3).

In the expected column «|» stands for a half-space (ZWNJ, U+200C), so the
table stays readable; inputs spell ZWNJ as \\u200c when they need one.
"""
from __future__ import annotations

import pytest

from pipeline.normalize import Normalizer, NormalizerConfig, emphasis_features

Z = "\u200c"

CASES = [
    # --- character unification -------------------------------------------------
    ("كتاب", "کتاب"),
    ("يک", "یک"),
    ("علي", "علی"),
    ("مصطفى", "مصطفی"),
    ("ڪار", "کار"),
    ("ھمه", "همه"),
    ("ﺳﻼﻡ", "سلام"),
    ("ﻻ", "لا"),
    ("تأثیر", "تاثیر"),
    ("إسلام", "اسلام"),
    ("مسئول", "مسئول"),
    ("مسؤول", "مسؤول"),
    ("جزء", "جزء"),
    ("سوء استفاده", "سوء استفاده"),
    ("ســـلام", "سلام"),
    ("دنیـــا", "دنیا"),
    ("حَذفِ اِعراب", "حذف اعراب"),
    ("بُزرگیِ", "بزرگی"),
    ("محمّد", "محمد"),
    ("کتاباً", "کتابا"),
    ("آمدند", "آمدند"),
    ("خانهٔ من", "خانه|ی من"),
    ("خانۀ من", "خانه|ی من"),
    ("﷽", "بسم الله الرحمن الرحیم"),  # expanded as hazm does; «بسم الله» stays spaced
    ("پیامبر اکرم ﷺ", "پیامبر اکرم"),
    ("سلام\u200bدنیا", "سلامدنیا"),
    ("\u202bسلام\u202c", "سلام"),
    ("\u200fسلام\u200e دنیا", "سلام دنیا"),
    ("\ufeffسلام", "سلام"),
    ("سلام\u00a0دنیا", "سلام دنیا"),
    ("سلام\u2009دنیا", "سلام دنیا"),
    ("سلام\x00دنیا", "سلامدنیا"),
    ("سلام\tدنیا", "سلام دنیا"),
    ("سلام\r\nدنیا", "سلام\nدنیا"),
    ("سلام\u200dدنیا", "سلامدنیا"),
    ("خوب\u00adه", "خوبه"),
    # --- digits (default: latin) ----------------------------------------------
    ("۱۲۳", "123"),
    ("٤٥٦", "456"),
    ("ساعت ۱۸", "ساعت 18"),
    ("۱۸ ساعت", "18 ساعت"),
    ("۳٫۵ درصد", "3.5 درصد"),
    ("۵٪", "5%"),
    ("مسافت ۹کیلومتر", "مسافت 9 کیلومتر"),
    ("مسافت۹ کیلومتر", "مسافت 9 کیلومتر"),
    ("سال ۱۳۹۷", "سال 1397"),
    ("10.450", "10.450"),
    # --- spaces and punctuation ------------------------------------------------
    ("سلام    دنیا", "سلام دنیا"),
    ("     سلام", "سلام"),
    ("سلام     ", "سلام"),
    ("   ", ""),
    ("", ""),
    ("   (سلام)", "(سلام)"),
    ("(سلام)   ", "(سلام)"),
    ("سلام ( دنیا )", "سلام (دنیا)"),
    ("اعلام کرد : خوب", "اعلام کرد: خوب"),
    ("سلام ، خوبی ؟", "سلام، خوبی؟"),
    ("سلام،خوبی", "سلام، خوبی"),
    ("گفت« سلام »", "گفت «سلام»"),
    ("خوب بود.عالی بود", "خوب بود. عالی بود"),
    ("و...", "و …"),
    ("خب.....", "خب …"),
    ("سلام\n\n\n\nدنیا", "سلام\n\nدنیا"),
    ("سلام \n دنیا", "سلام\nدنیا"),
    ("ساعت 12:30", "ساعت 12:30"),
    # --- repeated letters and punctuation ------------------------------------
    ("سلاممم دوستان", "سلام دوستان"),
    ("سلامم را برسان", "سلامم را برسان"),
    ("خیلیییی خوبه", "خیلی خوبه"),
    ("عاااالی", "عالی"),
    ("ههههههه", "هه"),
    ("چرااااا؟", "چرا؟"),
    ("واقعا؟؟؟", "واقعا؟"),
    ("عالیه!!!!", "عالیه!"),
    ("چی؟؟؟!!!", "چی؟!"),
    ("چی!!؟؟", "چی!؟"),
    ("sooooo good", "soo good"),
    ("سلاممممم", "سلام"),
    ("مدد", "مدد"),
    ("1000 تومان", "1000 تومان"),
    # --- entities ----------------------------------------------------------------
    ("ببین https://t.me/soroush", "ببین <url> telegram"),  # the host names the messenger, the path does not
    ("سایت www.eitaa.com رو ببین", "سایت <url> eitaa رو ببین"),
    ("آدرس eitaa.com است", "آدرس <url> eitaa است"),
    ("سایت example.com رو ببین", "سایت <url> رو ببین"),
    ("ببین http://example.org/a?b=1.", "ببین <url>."),
    ("ایمیل a.b@gmail.com بزنید", "ایمیل <email> بزنید"),
    ("@soroush_plus چرا", "<user> چرا"),
    ("سلام @ali.reza خوبی", "سلام <user> خوبی"),
    ("شماره 09121234567 زنگ بزن", "شماره <phone> زنگ بزن"),
    ("شماره ۰۹۱۲۱۲۳۴۵۶۷ زنگ بزن", "شماره <phone> زنگ بزن"),
    ("تماس +989121234567", "تماس <phone>"),
    ("تلفن 021-88776655", "تلفن <phone>"),
    ("#نه_به_تلگرام", "نه به تلگرام"),
    ("#تلگرام رو فیلتر کردن", "تلگرام رو فیلتر کردن"),
    ("متن #پیام_رسان_داخلی خوبه", "متن پیام|رسان داخلی خوبه"),
    ("#telegram", "telegram"),
    ("رتبه #1", "رتبه #1"),
    ("سلام<url>", "سلام <url>"),
    # --- emoji -----------------------------------------------------------------
    ("عالیه😍", "عالیه 😍"),
    ("😍عالیه", "😍 عالیه"),
    ("😂😂😂", "😂😂😂"),
    ("خوبه 👍🏻", "خوبه 👍🏻"),
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
    ("❤️ تلگرام", "❤️ تلگرام"),
    # --- verbal prefixes می / نمی -----------------------------------------------
    ("میخواهم", "می|خواهم"),
    ("نمیدانم چه میگفت", "نمی|دانم چه می|گفت"),
    ("می کنم", "می|کنم"),
    ("نمی خواهم", "نمی|خواهم"),
    ("میتوانستید", "می|توانستید"),
    ("میتونم", "می|تونم"),
    ("نمیدونم", "نمی|دونم"),
    ("میگن", "می|گن"),
    ("میشه", "می|شه"),
    ("میرفتم", "می|رفتم"),
    ("برمیگردد", "برمی|گردد"),
    ("میخوامش", "می|خوامش"),
    ("میز", "میز"),
    ("میدان", "میدان"),
    ("میلیون", "میلیون"),
    ("میانه", "میانه"),
    ("ماهان", "ماهان"),
    ("میهن", "میهن"),
    ("میوه", "میوه"),
    ("میراث", "میراث"),
    ("ماه می سال جدید", "ماه می سال جدید"),
    ("۱۵ می", "15 می"),
    ("میمون", "میمون"),
    # --- plural and comparative suffixes -----------------------------------------
    ("کتابها", "کتاب|ها"),
    ("کتاب ها", "کتاب|ها"),
    ("کتابهای", "کتاب|های"),
    ("کتابهایی", "کتاب|هایی"),
    ("کتاب هایش", "کتاب|هایش"),
    ("گوشیهای", "گوشی|های"),
    ("جمعهها مطالعه کنید", "جمعه|ها مطالعه کنید"),
    ("شنبهها", "شنبه|ها"),
    ("کارها", "کارها"),
    ("کار ها", "کارها"),
    ("دانشجوها", "دانشجوها"),
    ("بزرگترین", "بزرگ|ترین"),
    ("بزرگ ترین", "بزرگ|ترین"),
    ("مهمتر", "مهم|تر"),
    ("بیشتر", "بیشتر"),
    ("بیشترین", "بیشترین"),
    ("بهتر", "بهتر"),
    ("کمتر", "کمتر"),
    ("دختر", "دختر"),
    ("دفتر", "دفتر"),
    ("کبوتر", "کبوتر"),
    ("اخلال گر", "اخلال|گر"),
    # --- suffixes after ه (pronominal, copula, indefinite, ezafe) ----------------
    ("زمین لرزه ای", "زمین|لرزه|ای"),
    ("رسانهای", "رسانه|ای"),
    ("خانه اش", "خانه|اش"),
    ("رفته ام", "رفته|ام"),
    ("رفتهاند", "رفته|اند"),
    ("گفته اند", "گفته|اند"),
    ("خسته ای", "خسته|ای"),
    ("همه ی ما", "همه|ی ما"),
    ("نامه های", "نامه|های"),
    ("که ای", "که ای"),
    ("راضی ام", "راضی|ام"),
    # --- compounds -----------------------------------------------------------------
    ("پیامرسان", "پیام|رسان"),
    ("پیام رسان", "پیام|رسان"),
    ("پیامرسانهای", "پیام|رسان|های"),
    ("پیام رسان های", "پیام|رسان|های"),
    ("پیام رسانهای داخلی", "پیام|رسان|های داخلی"),
    ("فیلتر شکن", "فیلترشکن"),
    ("فیلترشکن", "فیلترشکن"),
    ("بی کیفیت", "بی|کیفیت"),
    ("بیکیفیت", "بی|کیفیت"),
    ("هم وطنان", "هم|وطنان"),
    ("نرم افزار", "نرم|افزار"),
    ("کاروانسرا", "کاروانسرا"),
    ("نصب کرده اند", "نصب کرده|اند"),
    ("به عنوان", "به عنوان"),
    ("مصرف کننده", "مصرف|کننده"),
    # --- wrong half-spaces -----------------------------------------------------------
    ("کاروان\u200c\u200cسرا", "کاروان|سرا"),
    ("\u200cسلام\u200c به \u200cهمه\u200c", "سلام به همه"),
    ("کار\u200cها", "کارها"),
    ("سلام \u200c دنیا", "سلام دنیا"),
    ("کتاب\u200c ها", "کتاب|ها"),
    ("دانشجو\u200cها", "دانشجوها"),
    ("123\u200c456", "123456"),
    ("می\u200cخواهم", "می|خواهم"),
    ("پیام\u200cرسان\u200cهای", "پیام|رسان|های"),
    # --- spaced words that are no compound (audit class 1) ------------------------
    ("یک بار", "یک بار"),  # numeral + noun: never a compound after a space
    ("دو میلیون", "دو میلیون"),
    ("ویدیو کال", "ویدیو کال"),  # on the spaced-not-compound list
    ("اینترنت ملی", "اینترنت ملی"),
    ("این فروشنده", "این فروشنده"),  # ـنده noun after a determiner
    ("چند سازنده", "چند سازنده"),
    ("شرکت سازنده", "شرکت سازنده"),  # ـنده noun that is a word of its own
    ("روح الله", "روح الله"),  # standalone Arabic-article word
    ("هم ارزان", "هم ارزان"),
    ("دانشجو آموزان", "دانشجو آموزان"),
    ("حمایت کننده", "حمایت|کننده"),  # light-verb agent nouns still join
    ("بسته بندی", "بسته|بندی"),  # lexicon compound + ending
    # --- ی after a pronounced ه (class 2) -------------------------------------------
    ("کوهی", "کوهی"),
    ("نگاهی", "نگاهی"),
    ("سیاهی ها", "سیاهی|ها"),
    ("راهشان", "راهشان"),
    ("پناهی", "پناهی"),
    ("توجهی", "توجهی"),
    ("پرونده ی", "پرونده|ی"),
    # --- fused silent-ه word + pronominal suffix (class 3) --------------------------
    ("نامهاش", "نامه|اش"),
    ("نامهام", "نامه|ام"),
    ("پردهاش", "پرده|اش"),
    ("کیسهات", "کیسه|ات"),
    # --- productive compound heads and tails (class 4) ------------------------------
    ("علاقهمندان", "علاقه|مندان"),
    ("علاقه مندان", "علاقه|مندان"),
    ("بهرهمندند", "بهره|مندند"),
    ("تاریخ نگاران", "تاریخ|نگاران"),
    ("خبر نگاران", "خبرنگاران"),
    ("برنامه نویسان", "برنامه|نویسان"),
    ("نیمکیلو", "نیم|کیلو"),
    ("نیم لیتر", "نیم|لیتر"),
    ("دو و نیم کیلو", "دو و نیم کیلو"),
    ("ورزشکاران", "ورزشکاران"),
    # --- suffixes after a space or fused (class 5) ----------------------------------
    ("خانواده شان", "خانواده|شان"),
    ("مدرسه تان", "مدرسه|تان"),
    ("بی\u200cکیفیت تر", "بی|کیفیت|تر"),
    ("خوش\u200cطعم ترین", "خوش|طعم|ترین"),
    ("کمحجمتر", "کم|حجم|تر"),
    ("طبیعیتر", "طبیعی|تر"),
    ("عکس هاش", "عکس|هاش"),
    ("کوتاه تری", "کوتاه|تری"),
    # --- whole sentences ----------------------------------------------------------
    ("اِعلاممممم کَرد : « زمین لرزه ای به بُزرگیِ 6 دهم ریشتر ...»",
     "اعلام کرد: «زمین|لرزه|ای به بزرگی 6 دهم ریشتر …»"),
    ("همه ی ما از پیام رسان های داخلی حمایت میکنیم",
     "همه|ی ما از پیام|رسان|های داخلی حمایت می|کنیم"),
    ("خيلي عاليه ايول به پيام رسانهاي داخلي😍😍",
     "خیلی عالیه ایول به پیام|رسان|های داخلی 😍😍"),
    ("من هرگز در تلگرام عضو نمیشوم", "من هرگز در تلگرام عضو نمی|شوم"),
    ("چراااا سروش اینقدر کنده؟؟؟", "چرا سروش اینقدر کنده؟"),
    ("Telegram خیلی بهتره", "Telegram خیلی بهتره"),
    ("nemitoonam az soroush estefade konam", "nemitoonam az soroush estefade konam"),
]


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


def test_table_is_big_enough():
    assert len(CASES) >= 150


@pytest.mark.parametrize("text,expected", CASES)
def test_table(norm, text, expected):
    assert norm(text) == expected.replace("|", Z)


@pytest.mark.parametrize("text,expected", CASES)
def test_table_idempotent(norm, text, expected):
    once = norm(text)
    assert norm(once) == once


# --- digit scripts --------------------------------------------------------------
def test_digits_persian():
    n = Normalizer(digits="persian")
    assert n("ساعت 18 و ٤٥ دقیقه") == "ساعت ۱۸ و ۴۵ دقیقه"
    assert n("5%") == "۵٪"


def test_digits_keep():
    n = Normalizer(digits="keep")
    assert n("۱۲ و 34") == "۱۲ و 34"


# --- configuration ----------------------------------------------------------------
def test_config_roundtrip():
    cfg = NormalizerConfig(digits="persian", restore_halfspaces=False)
    assert NormalizerConfig.from_dict(cfg.to_dict()) == cfg


def test_config_unknown_key_named():
    with pytest.raises(ValueError, match="colour"):
        NormalizerConfig.from_dict({"colour": True})


def test_config_bad_digits():
    with pytest.raises(ValueError):
        NormalizerConfig(digits="roman")


def test_config_frozen():
    import dataclasses

    cfg = NormalizerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.digits = "persian"  # type: ignore[misc]


def test_overrides():
    n = Normalizer(NormalizerConfig(digits="persian"), squash_repeats=False)
    assert n.config.digits == "persian" and n.config.squash_repeats is False


#: For each switchable step, a text that step changes, and what the text keeps with the step off.
STEP_TEXTS = {
    "sanitize": ("سلام\u200b\u202eدنیا", "\u202e"),
    "replace_entities": ("سلام @ali https://x.ir", "@ali"),
    "hashtags_to_words": ("#نه_به_فیلتر", "#نه_به_فیلتر"),
    "unify_chars": ("كتاب يك", "كتاب يك"),
    "squash_repeats": ("خیلییییی خوبه!!!", "خیلییییی خوبه!!!"),
    "correct_spacing": ("سلام ،خوبی ؟", "سلام ،خوبی ؟"),
    "collapse_spaces": ("سلام    دنیا", "سلام    دنیا"),
    "restore_halfspaces": ("میروم کتابها", "میروم کتابها"),
}
#: Steps that add to the text instead: (text, what only the step on adds).
STEP_ADDS = {
    "entity_names": ("عضو کانالم بشید t.me/x", "telegram"),
}
#: Steps that work inside another: hashtags and names are entities; other steps' padding is left to
#: collapse_spaces.
STEP_NEEDS = {("replace_entities", "hashtags_to_words"), ("collapse_spaces", "replace_entities"),
              ("collapse_spaces", "hashtags_to_words"), ("replace_entities", "entity_names"),
              ("collapse_spaces", "entity_names")}


def test_every_switchable_step_has_a_text():
    assert set(STEP_TEXTS) | set(STEP_ADDS) == {f for f in NormalizerConfig().to_dict() if f != "digits"}


@pytest.mark.parametrize("step", sorted(STEP_TEXTS) + sorted(STEP_ADDS))
def test_switching_a_step_off_keeps_what_it_changes_and_nothing_else(step):
    on, off = Normalizer(), Normalizer(**{step: False})
    if step in STEP_ADDS:
        text, added = STEP_ADDS[step]
        assert added in on(text) and added not in off(text)
    else:
        text, kept = STEP_TEXTS[step]
        assert kept not in on(text) and kept in off(text)
    for other, (other_text, _) in {**STEP_TEXTS, **STEP_ADDS}.items():
        if other != step and (step, other) not in STEP_NEEDS:
            assert off(other_text) == on(other_text), other


MESSENGER_ENTITIES = [
    ("عضو کانال بشید https://t.me/joinchat/abc", "telegram"),
    ("@telegram چرا اینقدر کنده", "telegram"),
    ("لینکش telegram.me/s/news هست", "telegram"),
    ("web.eitaa.com/channel رو ببین", "eitaa"),
    ("@eitaa_support جواب بده", "eitaa"),
    ("دانلود از splus.ir/app", "soroush"),
    ("rubika.ir/x", "rubika"),
]


@pytest.mark.parametrize("text, target", MESSENGER_ENTITIES)
def test_a_messenger_link_or_handle_is_still_a_mention_after_normalisation(text, target):
    from pipeline.targets import find_mentions

    norm = Normalizer()(text)
    assert "<url>" in norm or "<user>" in norm
    assert target in {m.target for m in find_mentions(norm)}
    assert target not in {m.target for m in find_mentions(Normalizer(entity_names=False)(text))}


@pytest.mark.parametrize("text", ["@soroush_k سلام", "@gapminder داده", "@bale123 خبر", "سایت example.com/telegram",
                                  "notatelegram.me.example.org/x"])
def test_names_people_have_and_other_sites_add_nothing(text):
    assert Normalizer()(text) == Normalizer(entity_names=False)(text)


def test_a_model_saved_before_entity_names_loads_with_it_off(tmp_path):
    import json

    from pipeline.classifiers.base import load_model
    from pipeline.classifiers.baselines import MajorityModel

    model = MajorityModel().fit(["a", "b"], {"stance_domestic": ["NONE", "FAVOR"], "stance_telegram": ["NONE", "NONE"],
                                             "sentiment": ["NEUTRAL", "NEUTRAL"]})
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["normalizer"]["entity_names"] is True
    del meta["normalizer"]["entity_names"]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    assert load_model(tmp_path).normalizer_config.entity_names is False


def test_steps_off_leave_text():
    n = Normalizer(restore_halfspaces=False)
    assert n("کتابها") == "کتابها"
    n = Normalizer(replace_entities=False)
    assert "@ali" in n("سلام @ali")
    n = Normalizer(squash_repeats=False)
    assert n("خیلیییی") == "خیلیییی"


def test_normalize_many(norm):
    assert norm.normalize_many(["كتاب", "۱"]) == ["کتاب", "1"]
    assert norm.normalize_many([]) == []


def test_emphasis_features():
    f = emphasis_features("خیلیییی خوبه!!! 😍😍 چرا؟؟")
    assert f["elongated"] == 1
    assert f["exclaim"] == 3
    assert f["punct_runs"] == 2
    assert f["emoji"] == 2
    assert emphasis_features("سلام")["elongated"] == 0


# --- behaviours of hazm's own normaliser we keep (our wording) ------------------------
@pytest.mark.parametrize("text,expected", [
    ("سلام دنیـــا", "سلام دنیا"),  # kashida
    ("جمعهها که کار نمی کنم مطالعه می کنم", "جمعه|ها که کار نمی|کنم مطالعه می|کنم"),
    ("به طول ۹متر و عرض۶", "به طول 9 متر و عرض 6"),
    ("کاروان\u200c\u200cسرا", "کاروان|سرا"),
    ("او می رود", "او می|رود"),
    ("زمین لرزه ای", "زمین|لرزه|ای"),
    ("سلامممم به همه", "سلام به همه"),
    ("نمیدانم چه میگفت", "نمی|دانم چه می|گفت"),
    ("میز", "میز"),
])
def test_hazm_behaviours_kept(norm, text, expected):
    assert norm(text) == expected.replace("|", Z)


def test_hazm_is_imported_lazily():
    import subprocess
    import sys

    code = "import sys, pipeline.normalize, pipeline.tokenize, pipeline.targets; print('hazm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


#: Colloquial verbs of آمدن/آوردن with a plain alef stay joined; other stems after می still get their half-space.
COLLOQUIAL_VERBS = [
    ("میاد", "میاد"), ("نمیاد", "نمیاد"), ("میام", "میام"), ("میارن", "میارن"), ("می اد", "میاد"),
    ("میارزد", "می\u200cارزد"), ("میافتد", "می\u200cافتد"), ("میانداخت", "می\u200cانداخت"),
    ("میدن", "می\u200cدن"), ("میگه", "می\u200cگه"), ("میآید", "می\u200cآید"),
]


@pytest.mark.parametrize("text, expected", COLLOQUIAL_VERBS)
def test_colloquial_verbs_of_coming_and_bringing_keep_no_bare_alef_after_a_half_space(text, expected):
    assert Normalizer()(text) == expected
