"""A scripted generator for tests: it records every prompt and answers from rules that read the prompt.

In the style of simonw/llm's `MockModel.enqueue`, but a reply is usually a function of the prompt,
so a test can say "answer with the figure stated in the passage that mentions 目標値" and the reply
changes when retrieval does. It stands in for the one part that cannot run here (a language model);
everything around it (retrieval, the prompt, `verify`) is the real code.

    fake = ScriptedGenerator()
    fake.when(is_translation, lambda p: TRANSLATIONS[p.question])
    fake.enqueue(lambda p: f"目標は{figure(p.passage_with('目標値').text)}です[{p.passage_with('目標値').n}]。")
    svc = PlanAssistant(settings, generator=fake)

Rules (`when`) are tried first, in order; then the queue (`enqueue`), one reply per call. A call
that nothing answers fails the test with the prompt it received: the engine asked the model
something the test did not expect.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_PASSAGE_HEAD = re.compile(r"^\[(\d+)\] \((.*)\)$", re.MULTILINE)
_QUESTION_HEAD = re.compile(r"\n*【(?:質問|Question)】")


@dataclass(frozen=True)
class PromptPassage:
    n: int  # the number the prompt gives it: the model cites it as [n]
    where: str  # "title / section / p.N"
    text: str


@dataclass
class Prompt:
    """What a model would read in `messages`: the instructions, the passages, the question."""

    messages: list[dict]
    system: str = ""
    user: str = ""  # the last user message, whole
    question: str = ""
    passages: list[PromptPassage] = field(default_factory=list)

    @property
    def is_translation(self) -> bool:
        return "translate" in self.system.lower()

    def passage_with(self, pattern: str) -> PromptPassage:
        """The first passage whose text matches `pattern` (a regular expression); fails the test if none."""
        for p in self.passages:
            if re.search(pattern, p.text):
                return p
        raise AssertionError(f"no passage in the prompt matches {pattern!r}:\n{self.user}")

    def has_passage_with(self, pattern: str) -> bool:
        return any(re.search(pattern, p.text) for p in self.passages)


def read_prompt(messages: list[dict]) -> Prompt:
    system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    prompt = Prompt(messages, system, user, question=user.strip())
    heads = list(_PASSAGE_HEAD.finditer(user))
    if not heads:
        return prompt  # no passages: a translation request, say
    q = list(_QUESTION_HEAD.finditer(user))
    end_of_passages = q[-1].start() if q else len(user)
    prompt.question = user[q[-1].end():].strip() if q else ""
    for head, nxt in zip(heads, [*heads[1:], None]):
        end = nxt.start() if nxt else end_of_passages
        prompt.passages.append(PromptPassage(int(head.group(1)), head.group(2), user[head.end():end].strip()))
    return prompt


Reply = Callable[[Prompt], str] | str
Condition = Callable[[Prompt], bool]


class ScriptedGenerator:
    """Satisfies the generator interface (`name`, `chat`, `stream`); see the module docstring."""

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        self.prompts: list[list[dict]] = []  # every `messages` received, in order (deep copies)
        self.replies: list[str] = []  # every reply given, in order
        self.schemas: list[dict | None] = []  # the output schema each call asked for (None: plain text)
        self._rules: list[tuple[Condition, Reply]] = []
        self._queue: list[Reply] = []
        self.streamed, self.stream_pieces, self.stopped = 0, 0, False

    # ------------------------------------------------------------------ scripting
    def when(self, condition: Condition, reply: Reply) -> ScriptedGenerator:
        """Answer every prompt for which `condition(prompt)` holds with `reply` (a string or `reply(prompt)`)."""
        self._rules.append((condition, reply))
        return self

    def enqueue(self, *replies: Reply) -> ScriptedGenerator:
        """Answer the next calls no rule matches, one reply each, in order."""
        self._queue.extend(replies)
        return self

    def reset(self) -> None:
        self.prompts.clear()
        self.replies.clear()
        self.schemas.clear()
        self._rules.clear()
        self._queue.clear()

    @property
    def pending(self) -> int:
        """Queued replies not used yet."""
        return len(self._queue)

    def read(self, i: int = -1) -> Prompt:
        """The i-th prompt received, parsed."""
        return read_prompt(self.prompts[i])

    # ------------------------------------------------------------------ the generator interface
    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict | None = None) -> str:
        self.prompts.append(copy.deepcopy(messages))
        self.schemas.append(schema)
        prompt = read_prompt(messages)
        reply = next((r for condition, r in self._rules if condition(prompt)), None)
        if reply is None:
            if not self._queue:
                raise AssertionError(f"{self.name}: no scripted reply for this prompt:\n{messages!r}")
            reply = self._queue.pop(0)
        text = reply(prompt) if callable(reply) else reply
        self.replies.append(text)
        return text

    def stream(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
               schema: dict | None = None) -> Iterator[str]:
        """The reply in pieces of up to 8 characters, as a model streams it; `streamed` counts the pieces
        taken so far and `stopped` says whether the reader closed the stream before its end."""
        text = self.chat(messages, max_tokens=max_tokens, temperature=temperature, schema=schema)
        pieces = re.findall(r".{1,8}", text, flags=re.DOTALL)
        self.streamed, self.stream_pieces, self.stopped = 0, len(pieces), False
        try:
            for piece in pieces:
                self.streamed += 1
                yield piece
        except GeneratorExit:
            self.stopped = self.streamed < len(pieces)
            raise


def is_translation(prompt: Prompt) -> bool:
    return prompt.is_translation


def is_answer_request(prompt: Prompt) -> bool:
    return bool(prompt.passages)
