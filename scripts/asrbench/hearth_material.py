"""hearth's own commands and dinner-table talk, as measurement items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .material import Voice, synthesize
from .streams import Expect, Item

# Natural spoken forms of every command (not only the taught ones), each with the context it is
# heard in. "{wake}" is replaced by the wake name.
SPOKEN: tuple[tuple[str, str], ...] = (
    ("idle", "start our daily check in"), ("idle", "let's do the thirty six questions"), ("idle", "start the appreciation practice"),
    ("idle", "begin the vulnerability invitation"), ("idle", "start listening turns for five minutes"), ("idle", "time for the ten minute question"),
    ("idle", "start device free talk"), ("idle", "continue the thirty six questions"), ("idle", "pick up where we left off"),
    ("idle", "{wake} what can we do"), ("idle", "{wake} what is a bid for connection"), ("idle", "{wake} what can i say"),
    ("prompt", "next question"), ("prompt", "ready for the next question"), ("prompt", "say that again"), ("prompt", "repeat the question"),
    ("prompt", "go back"), ("prompt", "go back to the previous question"), ("prompt", "skip this one"), ("prompt", "pass on this one"),
    ("prompt", "pause"), ("prompt", "hold on a moment"), ("prompt", "carry on"), ("prompt", "keep going please"),
    ("prompt", "give us two more minutes"), ("prompt", "how much time is left"), ("prompt", "i'm done"), ("prompt", "that's all from me"),
    ("prompt", "stop the exercise"), ("prompt", "we're done for tonight"), ("prompt", "what can i say"), ("prompt", "yes stop"),
    ("prompt", "yes"), ("prompt", "no keep going"), ("prompt", "give us a topic"), ("prompt", "what exercises are there"),
    ("turn", "{wake} pause"), ("turn", "{wake} how much time is left"), ("turn", "{wake} give us two more minutes"),
    ("turn", "{wake} that's all from me"), ("turn", "{wake} keep going please"), ("turn", "{wake} stop the exercise"),
)

# Ordinary dinner-table talk that uses command words in ordinary ways; none of it is a command.
CONVERSATION: tuple[str, ...] = (
    "We should stop by the bakery tomorrow morning.", "Next time let's take the train instead of driving.",
    "It's your turn to choose the film tonight.", "I'm done with that book, you can borrow it if you like.",
    "Can you pass the salt and the pepper?", "The meeting went on for an extra hour today.",
    "My sister asked if we are free next weekend.", "I think the bus stop moved to the other corner.",
    "Did you remember to check the post this morning?", "We have to be back home before nine on Thursday.",
    "She paused the game to answer the phone.", "I skipped lunch so I'm really hungry now.",
    "Give me a minute to finish this soup.", "That was a good question at the meeting.",
    "Let's start planning the garden in the spring.", "They want to continue the project after the holidays.",
    "The train was ten minutes late again this morning.", "I could not stop laughing at that show.",
    "We ran out of time at the museum.", "He checked in at the hotel around midnight.",
    "Remind me to call the plumber on Monday.", "My back has been sore since the hike.",
    "Your mother called while you were out.", "The soup needs a little more salt.",
    "We should go back to that little beach in June.", "There's no rush, we have the whole evening.",
    "Do you want tea or coffee after dinner?", "Turn left at the second light and park behind the shop.",
    "I'll skip the gym tomorrow and go on Friday instead.", "The question is whether we can afford a new car.",
    "Let me check the timetable before we leave.", "I'm almost done with the dishes.",
    "Don't forget we promised to help them move house.", "I think the pause button on the remote is broken.",
    "Could you grab some milk on your way back from work?", "Let's keep going with the painting this weekend.",
    "Your turn to do the dishes tonight, I cooked.", "I'll be ready in five minutes.",
    "We need more time to decide about the trip.", "Next year I'd like to learn to play the piano.",
    "She said yes to the job offer straight away.", "How much time do you need to get ready?",
    "Carry the box upstairs when you get a chance.", "Yes, I think so.", "No, not really.", "Okay.",
    "Hold on, I'll get it.", "Wait a second, where are my keys?", "That's it, I'm going to bed.",
    "Stop it, you're making me laugh.", "Go back to the start of the story.", "What can we do about the car?",
)


@dataclass(frozen=True)
class Phrase:
    context: str
    text: str
    expect: Expect


def taught(intents: object) -> list[Phrase]:
    """The phrase hearth teaches for each intent (its help text) in each context it is live in,
    with the wake name where that context needs it."""
    result = []
    for context in ("idle", "prompt", "turn"):
        for intent in intents.live(context):  # type: ignore[attr-defined]
            text = intent.help
            if intents.needs_wake(intent, context):  # type: ignore[attr-defined]
                text = f"{intents.wake_name} {text}"  # type: ignore[attr-defined]
            result.append(Phrase(context, text, expect(intents, text, context)))
    return [p for p in result if p.expect is not None]


def spoken(intents: object) -> list[Phrase]:
    wake = intents.wake_name  # type: ignore[attr-defined]
    result = [Phrase(c, t.replace("{wake}", wake), expect(intents, t.replace("{wake}", wake), c)) for c, t in SPOKEN]
    return [p for p in result if p.expect is not None]


def expect(intents: object, text: str, context: str) -> Expect:
    match = intents.match(text, context, enforce_wake=True)  # type: ignore[attr-defined]
    return None if match is None else (match.intent, tuple(sorted((k, str(v)) for k, v in match.slots.items())))


def items(phrases: Sequence[Phrase], voices: Sequence[Voice]) -> list[Item]:
    return [Item(synthesize(voice, p.text), p.expect, f"{voice.label}|{p.text}") for p in phrases for voice in voices]


def talk_items(voices: Sequence[Voice]) -> list[Item]:
    return [Item(synthesize(voices[i % len(voices)], text), None, f"talk|{text}") for i, text in enumerate(CONVERSATION)]
