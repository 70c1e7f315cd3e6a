"""The languages the line speaks: one canonical BCP 47 id each, mapped here (and only here)
to the Twilio <Say> voice and language and to the <Gather> speech-recognition tag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A language as callers know it and as Twilio needs it spelled.

    `say_language` and `recognition` differ on purpose: Twilio's text-to-speech and its
    speech recognition use different tags for the same language (Mandarin is `cmn-CN` for
    <Say> but `cmn-Hans-CN` for <Gather>).
    """

    id: str
    native_name: str
    say_language: str
    voice: str
    recognition: str


_ALL = (
    Language("en-US", "English", "en-US", "Polly.Joanna", "en-US"),
    Language("en-GB", "English", "en-GB", "Polly.Amy", "en-GB"),
    Language("en-IN", "English", "en-IN", "Polly.Raveena", "en-IN"),
    Language("zh-CN", "普通话", "cmn-CN", "Polly.Zhiyu", "cmn-Hans-CN"),
    Language("zh-TW", "國語", "cmn-TW", "Google.cmn-TW-Standard-A", "cmn-Hant-TW"),
    Language("yue-HK", "廣東話", "yue-HK", "Google.yue-HK-Standard-A", "yue-Hant-HK"),
    Language("ja-JP", "日本語", "ja-JP", "Polly.Mizuki", "ja-JP"),
    Language("ko-KR", "한국어", "ko-KR", "Polly.Seoyeon", "ko-KR"),
    Language("es-ES", "Español", "es-ES", "Polly.Lucia", "es-ES"),
    Language("es-MX", "Español", "es-MX", "Polly.Mia", "es-MX"),
    Language("pt-BR", "Português", "pt-BR", "Polly.Camila", "pt-BR"),
    Language("id-ID", "Bahasa Indonesia", "id-ID", "Google.id-ID-Standard-A", "id-ID"),
    Language("vi-VN", "Tiếng Việt", "vi-VN", "Google.vi-VN-Standard-A", "vi-VN"),
    Language("tr-TR", "Türkçe", "tr-TR", "Polly.Filiz", "tr-TR"),
    Language("hi-IN", "हिन्दी", "hi-IN", "Polly.Aditi", "hi-IN"),
    Language("de-DE", "Deutsch", "de-DE", "Polly.Vicki", "de-DE"),
)

LANGUAGES: dict[str, Language] = {language.id: language for language in _ALL}


def language(language_id: str) -> Language:
    """The language with this canonical id; KeyError names the known ids."""
    try:
        return LANGUAGES[language_id]
    except KeyError:
        known = ", ".join(LANGUAGES)
        raise KeyError(f"unknown language {language_id!r}; known: {known}") from None
