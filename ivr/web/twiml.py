"""Rendering Steps to TwiML with Twilio's own builder (twilio.twiml.voice_response).

The only module that knows XML. Links become root-relative URLs under the public URL's path
prefix, so Twilio resolves them against the host it called and signs them as requested.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.config.languages import LANGUAGES
from ivr.engine.steps import (
    Action,
    Ask,
    DialQueue,
    Enqueue,
    Hangup,
    Leave,
    Link,
    Pause,
    Play,
    Prompt,
    Record,
    Redirect,
    Reject,
    Say,
    Step,
)

CONTENT_TYPE = "text/xml; charset=utf-8"
# Spoken only when even the apology could not be built (no region, no prompts): plain English.
LAST_RESORT = "We're sorry, something went wrong. Please call again later. Goodbye."


def url_for(link: Link, prefix: str = "") -> str:
    query = urlencode(link.params)
    return f"{prefix}{link.path}" + (f"?{query}" if query else "")


def render(step: Step, prefix: str = "") -> str:
    """The TwiML document for `step`; `prefix` is the path of the public URL ("" or "/ivr")."""
    return _document(step.actions, prefix)


# A menu is the same document for every caller in the same (region, language, state): built
# once with the twilio builder, then served from here. Actions are frozen values, so equal
# actions are the same document; documents that vary per call (a queue position, a number
# read back) simply fall out of the cache.
@lru_cache(maxsize=4096)
def _document(actions: tuple[Action, ...], prefix: str) -> str:
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, Say | Pause | Play):
            _prompt(response, action)
        elif isinstance(action, Ask):
            response.append(_gather(action, prefix))
        elif isinstance(action, Redirect):
            response.redirect(url_for(action.to, prefix), method="POST")
        elif isinstance(action, Enqueue):
            response.enqueue(
                action.queue,
                action=url_for(action.then, prefix),
                method="POST",
                wait_url=url_for(action.wait, prefix),
                wait_url_method="POST",
            )
        elif isinstance(action, Record):
            response.record(
                action=url_for(action.then, prefix),
                method="POST",
                max_length=action.max_seconds,
                finish_on_key=action.finish_on_key,
                timeout=action.timeout,
                play_beep=True,
            )
        elif isinstance(action, Leave):
            response.leave()
        elif isinstance(action, Hangup):
            response.hangup()
        elif isinstance(action, Reject):
            response.reject(reason="busy")
        elif isinstance(action, DialQueue):
            # hangupOnStar: the agent presses * to end the conversation and stays on the line.
            dial = response.dial(
                action=url_for(action.then, prefix),
                method="POST",
                timeout=action.timeout,
                hangup_on_star=True,
            )
            dial.queue(action.queue, url=url_for(action.connect, prefix), method="POST")
    return str(response)


def _prompt(parent: VoiceResponse | Gather, prompt: Prompt) -> None:
    if isinstance(prompt, Say):
        language = LANGUAGES[prompt.language]
        parent.say(prompt.text, voice=language.voice, language=language.say_language)
    elif isinstance(prompt, Pause):
        parent.pause(length=prompt.seconds)
    else:
        parent.play(prompt.url, loop=prompt.loop)


def _gather(ask: Ask, prefix: str) -> Gather:
    speech = "speech" in ask.input
    gather = Gather(
        input=ask.input,
        action=url_for(ask.then, prefix),
        method="POST",
        num_digits=ask.num_digits,
        finish_on_key=ask.finish_on_key,
        timeout=ask.timeout,
        language=ask.speech_language if speech else None,
        hints=", ".join(ask.hints) if speech and ask.hints else None,
        speech_timeout="auto" if speech else None,
        action_on_empty_result=True if ask.action_on_empty_result else None,
    )
    for prompt in ask.prompts:
        _prompt(gather, prompt)
    return gather


def last_resort() -> str:
    """A document that cannot fail: an apology in the default voice, then hang up."""
    response = VoiceResponse()
    response.say(LAST_RESORT)
    response.hangup()
    return str(response)


def agent_takes_queue(queue: str, connect_url: str, timeout: int = 20) -> str:
    """An agent's phone taking the first caller of `queue` (the caller's leg runs `connect_url`)."""
    response = VoiceResponse()
    response.dial(timeout=timeout).queue(queue, url=connect_url, method="POST")
    return str(response)
