"""Text normalisation for matching customer messages against a knowledge base.

Customers write in Russian, Ukrainian, English, surzhyk and Latin transliteration, with emojis and
no punctuation. Everything here is pure string work (no dictionaries), so it is cheap to import:
- `clean`: Unicode NFKC, case folding, ё→е, one apostrophe, everything but letters/digits → space;
- `tokenize`: the words of a message;
- `fold_letters`: a letter skeleton shared by Russian and Ukrainian spelling (і/ы/и, є/э/е, ь...),
  so that "вініри" and "виниры", or a transliterated "chastynamy", meet on the same key;
- `transliterate`: Latin chat transliteration ("skolko stoit", "oplata chastynamy") back to Cyrillic;
- `is_english_word`: common English words, which must not be transliterated.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def word_list(text: str) -> tuple[str, ...]:
    """The words of a space-separated list written in code (word lists read better as text)."""
    return tuple(text.split())


APOSTROPHE = "'"
# Every apostrophe-like character customers type (and Ukrainian dictionaries spell with ').
_APOSTROPHES = str.maketrans({c: APOSTROPHE for c in "’ʼ`´‘ʹ′＇"})
# A word: letters and digits, with apostrophes or hyphens only inside ("кур'єр", "wi-fi" splits later).
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_LATIN = re.compile(r"^[a-z0-9']+$")
_CYRILLIC_CHARS = frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюяыэъё")

# Ukrainian and Russian spell shared roots differently; the skeleton keeps what both agree on.
_FOLD = str.maketrans({"ё": "е", "э": "е", "є": "е", "ы": "и", "і": "и", "ї": "и", "й": "и", "ґ": "г"})
_DROP = str.maketrans({"ь": None, "ъ": None, APOSTROPHE: None})

# Chat transliteration, longest patterns first. Ambiguous letters pick the reading that the letter
# skeleton (`fold_letters`) makes irrelevant: y → ы and i → и both fold to и.
_TRANSLIT_MULTI: tuple[tuple[str, str], ...] = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("tsya", "тся"),
    ("tsia", "тся"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("ck", "к"),
    ("ya", "я"),
    ("ja", "я"),
    ("ia", "я"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("iu", "ю"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
)
_TRANSLIT_SINGLE = {
    "a": "а",
    "b": "б",
    "c": "ц",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "х",
    "i": "и",
    "j": "й",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "к",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "кс",
    "y": "ы",
    "z": "з",
    "'": "ь",
}

# Common English words: a Latin token in this list is English, anything else is transliteration.
ENGLISH_WORDS = frozenset(
    word_list(
        """
        a about after again all also am an and any anyone anything are as ask at available back be because been
        before being best better book booking bring but buy by call can cancel cancellation card cash change cheap
        child children class classes cost costs could course courses day days deliver delivery did discount do
        does doing done dont else email english every exchange for free from get gift give go good got had has
        have having he hello help her here hey hi him his hours how human i if in info information install is it
        its just know late lesson lessons let like live long look lot make manager many may me member money month
        more most much must my need new next no not now number of off ok okay on one online only open operator or
        order other our out over paid parking pay payment people per person phone please price prices real refund
        return returns right same schedule see send ship shipping should size so some someone something speak
        speaking staff still talk teacher teachers thank thanks that the their them then there these they thing
        this time to today tomorrow trial try two up us use want was we week what when where which who why will
        with without work working would year yes you your
        """
    )
)


def clean(text: str) -> str:
    """Lower-case, NFKC-normalised text with ё→е, one apostrophe and no punctuation or emojis."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES).replace("ё", "е")
    return " ".join(tokenize_clean(text))


def tokenize_clean(text: str) -> list[str]:
    """Words of text that is already case-folded (see `tokenize` for raw text)."""
    return [word.strip(APOSTROPHE) for word in _WORD.findall(text) if word.strip(APOSTROPHE)]


def tokenize(text: str) -> list[str]:
    """The words of a raw message: letters and digits only, lower case, ё→е, apostrophes unified."""
    return clean(text).split()


@lru_cache(maxsize=65536)
def fold_letters(word: str) -> str:
    """The Russian/Ukrainian letter skeleton of a lower-case word: "вініри" and "виниры" both → "винири"."""
    return word.translate(_FOLD).translate(_DROP)


def is_latin(word: str) -> bool:
    return bool(_LATIN.match(word)) and not word.isdigit()


def is_cyrillic(word: str) -> bool:
    return any(c in _CYRILLIC_CHARS for c in word)


def is_english_word(word: str) -> bool:
    return word in ENGLISH_WORDS


@lru_cache(maxsize=16384)
def transliterate(word: str) -> str:
    """Latin chat transliteration back to Cyrillic: "skolko" → "сколко", "chastynamy" → "частынамы".

    The result is approximate by nature; matching compares letter skeletons and tolerates typos.
    """
    out: list[str] = []
    i = 0
    while i < len(word):
        for latin, cyrillic in _TRANSLIT_MULTI:
            if word.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            out.append(_TRANSLIT_SINGLE.get(word[i], word[i]))
            i += 1
    return "".join(out)


def emoji_only(text: str) -> bool:
    """True when the message has no letters or digits at all (a bare emoji, "?", "...")."""
    return not tokenize(text)


def _folded_words(text: str) -> frozenset[str]:
    return frozenset(fold_letters(word) for word in word_list(text))


# Words that say nothing about the topic: function words, pronouns, generic verbs ("можно", "хочу",
# "подскажите"), politeness and filler, in Russian, Ukrainian and English (folded letter skeletons).
STOP_WORDS = _folded_words(
    # Russian
    "а и или но да нет не ни же ли бы вот ну уже еще тоже также только очень просто вообще все весь вся это этот"
    " эта эти то тот та те так там тут здесь как какой какая какое какие каков что чтобы чем чего кому кого"
    " я мы вы ты он она они оно меня мне мной нас нам вас вам вами тебя тебе его ее их им ими себя себе сам"
    " у в во на с со к ко по о об обо от до из за для при про под над без через после перед между если мой моя мое"
    " мои наш наша наше наши ваш ваша ваше ваши быть есть был была было будет будут бывает можно нельзя"
    " нужно надо хочу хотеть хотел хотела хотим хотелось мочь могу можете может могли сказать скажите"
    " подсказать подскажите уточнить интересовать интересует пожалуйста пжл плиз здравствуйте привет"
    " какой-то какие-то вообще примерно типа короче кстати ой ах эх ага ладно хорошо ок окей тогда сейчас"
    " делать сделать делаете"
    # Ukrainian
    " і й та або але чи так ні не ж б би вже ще теж також тільки лише дуже просто взагалі все усе весь вся це цей"
    " ця ці той ті там тут як який яка яке які що щоб чим чого кому кого я ми ви ти він вона вони воно мене мені"
    " мною нас нам вас вам вами тебе тобі його її їх їм ними себе собі сам у в на з із зі до по про від за для"
    " при під над без через після перед між якщо мій моя моє мої наш наша наше наші ваш ваша ваше ваші свій"
    " бути є був була було буде будуть буває можна не можна треба потрібно хочу хотіти хотів хотіла хочемо"
    " могти можу можете може сказати скажіть підказати підкажіть уточнити цікавити цікавить будь ласка"
    " привіт вітаю якийсь якісь приблизно типу коротше до речі ой ага добре гаразд ок окей тоді зараз шо"
    " робити зробити робите"
    # English
    " a an the is are am be been being was were do does did doing you your yours we our us i me my mine he she"
    " it its they them their this that these those there here to of in on at for with and or but if so just"
    " can could would will shall should may might must have has had please hi hello hey any some"
)

# Greetings, thanks and goodbyes; a message made only of these (and stop words) is small talk.
GREETING_WORDS = _folded_words(
    "привет приветик здравствуйте здравствуй здрасте здрасьте доброго добрый доброе добрий доброї вітаю привіт"
    " хай хелло салют алло ало алё hello hi hey hiya"
)
GREETING_TAILS = _folded_words("день вечер утро ночи дня вечера утра вечір ранку вечора ранок morning evening")
THANKS_WORDS = _folded_words(
    "спасибо спс благодарю благодарна благодарен дякую дякс дяки вдячна вдячний thanks thank thx ty"
    " ок окей ok okay ага понятно ясно поняла понял зрозуміло зрозуміла зрозумів добре хорошо отлично супер чудово"
    " класс клас круто great cool"
)
BYE_WORDS = _folded_words("пока свидания побачення бувай бувайте гарного хорошего bye goodbye")
# Filler that only ever accompanies small talk: "как дела", "як справи", "how are you", "большое".
SMALLTALK_FILLER = _folded_words("как дела як справи how are you большое велике огромное much very so")
# Emojis that are a whole message on their own.
GREETING_EMOJI = frozenset("👋🖐✋")
THANKS_EMOJI = frozenset("👍🙏❤♥💕💖😊🙂👌🤝🌹🌸💐😍🥰😘")


def has_emoji(text: str, emojis: frozenset[str]) -> bool:
    return any(char in emojis for char in text)
