"""What a step says, for engine tests."""

from __future__ import annotations

from ivr.engine.steps import Ask, Say, Step


def said(step: Step) -> list[str]:
    """Every line the step speaks, in order, said on its own or asked in a Gather."""
    lines: list[str] = []
    for action in step.actions:
        if isinstance(action, Say):
            lines.append(action.text)
        elif isinstance(action, Ask):
            lines += [prompt.text for prompt in action.prompts if isinstance(prompt, Say)]
    return lines
