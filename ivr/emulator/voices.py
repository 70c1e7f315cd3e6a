"""The emulator's own knowledge of Twilio text-to-speech voices and speech-recognition tags.

Kept apart from the service's language table on purpose: the emulator checks what the service
sends against Twilio's voice list (https://www.twilio.com/docs/voice/twiml/say/text-speech),
so a voice that cannot speak the <Say language> shows up as a warning in tests.
"""

from __future__ import annotations

import re

# Amazon Polly voices as Twilio names them ("Polly.<Name>"), with every language each speaks.
_POLLY: dict[str, tuple[str, ...]] = {
    "Joanna": ("en-US",),
    "Matthew": ("en-US",),
    "Ivy": ("en-US",),
    "Kendra": ("en-US",),
    "Kimberly": ("en-US",),
    "Salli": ("en-US",),
    "Joey": ("en-US",),
    "Justin": ("en-US",),
    "Kevin": ("en-US",),
    "Amy": ("en-GB",),
    "Brian": ("en-GB",),
    "Emma": ("en-GB",),
    "Nicole": ("en-AU",),
    "Russell": ("en-AU",),
    "Raveena": ("en-IN",),
    # Aditi is bilingual: Indian English and Hindi.
    "Aditi": ("en-IN", "hi-IN"),
    "Zhiyu": ("cmn-CN",),
    "Mizuki": ("ja-JP",),
    "Takumi": ("ja-JP",),
    "Seoyeon": ("ko-KR",),
    "Lucia": ("es-ES",),
    "Conchita": ("es-ES",),
    "Enrique": ("es-ES",),
    "Mia": ("es-MX",),
    "Lupe": ("es-US",),
    "Miguel": ("es-US",),
    "Penelope": ("es-US",),
    "Camila": ("pt-BR",),
    "Vitoria": ("pt-BR",),
    "Ricardo": ("pt-BR",),
    "Ines": ("pt-PT",),
    "Cristiano": ("pt-PT",),
    "Vicki": ("de-DE",),
    "Marlene": ("de-DE",),
    "Hans": ("de-DE",),
    "Celine": ("fr-FR",),
    "Lea": ("fr-FR",),
    "Mathieu": ("fr-FR",),
    "Chantal": ("fr-CA",),
    "Carla": ("it-IT",),
    "Bianca": ("it-IT",),
    "Giorgio": ("it-IT",),
    "Tatyana": ("ru-RU",),
    "Maxim": ("ru-RU",),
    "Filiz": ("tr-TR",),
    "Zeina": ("arb",),
}

# Polly voices Twilio also offers with the neural engine ("Polly.<Name>-Neural"); the last
# ones exist only as neural voices.
_POLLY_NEURAL: dict[str, tuple[str, ...]] = {
    **{
        name: _POLLY[name]
        for name in (
            "Joanna Matthew Ivy Kendra Kimberly Salli Joey Justin Kevin Amy Brian Emma Olivia"
            " Zhiyu Takumi Seoyeon Lucia Mia Lupe Camila Vitoria Vicki Lea Bianca Filiz"
        ).split()
        if name in _POLLY
    },
    "Olivia": ("en-AU",),
    "Danielle": ("en-US",),
    "Gregory": ("en-US",),
    "Ruth": ("en-US",),
    "Stephen": ("en-US",),
    "Kajal": ("en-IN", "hi-IN"),
    "Hiujin": ("yue-CN",),
    "Kazuha": ("ja-JP",),
    "Tomoko": ("ja-JP",),
    "Andres": ("es-MX",),
    "Sergio": ("es-ES",),
    "Pedro": ("es-US",),
    "Thiago": ("pt-BR",),
    "Daniel": ("de-DE",),
    "Hala": ("ar-AE",),
    "Zayd": ("ar-AE",),
}

_POLLY_GENERATIVE = frozenset("Joanna Matthew Danielle Ruth Stephen Amy Olivia Lupe Pedro".split())

# Google voices are named "Google.<locale>-<family>-<variant>"; the locale is the language.
_GOOGLE_LOCALES = frozenset(
    "en-US en-GB en-AU en-IN cmn-CN cmn-TW yue-HK ja-JP ko-KR es-ES es-US pt-BR pt-PT fr-FR"
    " fr-CA de-DE it-IT ru-RU hi-IN tr-TR id-ID vi-VN th-TH fil-PH ar-XA nl-NL".split()
)
_GOOGLE_NAME = re.compile(
    r"Google\.(?P<locale>[a-z]{2,3}-[A-Z]{2})-"
    r"(?:Standard|Wavenet|Neural2|Studio|News|Polyglot|Journey|Chirp-HD|Chirp3-HD)-[A-Za-z]+"
)

# Twilio's basic voices: English only.
_BASIC: dict[str, tuple[str, ...]] = {
    "man": ("en-US", "en-GB", "en"),
    "woman": ("en-US", "en-GB", "en"),
}

DEFAULT_VOICE = "man"
DEFAULT_LANGUAGE = "en-US"


def voice_languages(voice: str) -> tuple[str, ...] | None:
    """The languages a Twilio voice speaks, first the one it defaults to; None if unknown."""
    if voice in _BASIC:
        return _BASIC[voice]
    if voice.startswith("Polly."):
        name, _, engine = voice.removeprefix("Polly.").partition("-")
        if engine == "":
            return _POLLY.get(name)
        if engine == "Neural":
            return _POLLY_NEURAL.get(name)
        if engine == "Generative" and name in _POLLY_GENERATIVE:
            return _POLLY.get(name) or _POLLY_NEURAL.get(name)
        return None
    match = _GOOGLE_NAME.fullmatch(voice)
    if match and match["locale"] in _GOOGLE_LOCALES:
        return (match["locale"],)
    return None


def speaks(voice: str, language: str) -> bool:
    """True if the voice is listed for that language (tags compared case-insensitively)."""
    languages = voice_languages(voice) or ()
    return language.lower() in (known.lower() for known in languages)


# Speech recognition tags: Mandarin and Cantonese need the script subtag on <Gather>,
# unlike <Say> (cmn-CN there, cmn-Hans-CN here).
_RECOGNITION_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?-(?:[A-Z]{2}|\d{3})")
_CHINESE_RECOGNITION = frozenset({"cmn-Hans-CN", "cmn-Hans-HK", "cmn-Hant-TW", "yue-Hant-HK"})


def recognition_language_problem(tag: str) -> str | None:
    """Why `tag` is not a <Gather language> Twilio accepts, or None when it looks right."""
    if not _RECOGNITION_TAG.fullmatch(tag):
        return f"{tag!r} is not a language-REGION tag such as en-US or cmn-Hans-CN"
    if tag.split("-")[0] in ("cmn", "yue") and tag not in _CHINESE_RECOGNITION:
        known = ", ".join(sorted(_CHINESE_RECOGNITION))
        return f"{tag!r} is a text-to-speech tag; speech recognition expects one of {known}"
    return None
