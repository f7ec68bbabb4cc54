"""How the platform speaks on the telephone: every spoken text goes through `say`, so a call in
Mandarin or English always gets the matching Twilio voice and language attribute."""

from typing import Any

from django.conf import settings

# Twilio's <Say> language codes (and an Amazon Polly voice for each) per site language.
VOICES = {
    "zh-hans": {"language": "cmn-CN", "voice": "Polly.Zhiyu"},
    "en": {"language": "en-US", "voice": "Polly.Joanna"},
}


def speech_language(language: str | None) -> str:
    """A site language we can speak: the one asked for, else the platform's default."""
    if language in VOICES:
        return language
    return settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in VOICES else "zh-hans"


def say(parent: Any, text: str, language: str | None) -> None:
    """Append <Say> to a TwiML verb (a response, <Gather> or <Enqueue>'s wait answer)."""
    parent.say(str(text), **VOICES[speech_language(language)])
