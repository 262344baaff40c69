"""Task prompt templates, read from files a site can edit, and the chat messages built from them.

Templates live in ``resources/prompts/TASK.txt`` (``string.Template`` syntax, ``$name``). Folders
named in ``MEDMO_PROMPTS_DIR`` (or passed as ``search``) are searched first, so a site overrides a
template by dropping a file of the same name there.

How the user's text meets a template (:func:`task_instruction`): a template that holds the
task's placeholder (``$question`` for vqa, ``$finding`` for ground, ``$labels`` for classify,
``$text`` for summarize) gets the text put there; a template without it (the bundled localize
and report ones) is the task's *default instruction*, and text the user typed REPLACES it, so
"Detect and localize all abnormalities in this image." is never sent twice. Empty text keeps the
default. For ground and classify, text that is itself an instruction (a question, a sentence, or
a request such as "Where is the mass?") replaces the template too, instead of being put inside it.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Sequence
from pathlib import Path

from inference.types import Turn

TASKS: tuple[str, ...] = ("vqa", "report", "localize", "ground", "classify", "summarize")
# The placeholder each task's main text fills (see resources/prompts/README.md).
TASK_FIELD = {"vqa": "question", "report": "question", "localize": "question",
              "ground": "finding", "classify": "labels", "summarize": "text"}
BOX_TASKS = ("localize", "ground")
_REQUEST = re.compile(
    r"^(where|what|which|how|is|are|can|could|would|please|find|locate|show|mark|draw|box|"
    r"point|give|detect|identify|outline|highlight|classify|tell|label)\b", re.IGNORECASE)
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "prompts"
ENV_VAR = "MEDMO_PROMPTS_DIR"


def search_path(extra: Sequence[str | Path] = ()) -> list[Path]:
    """Folders searched for templates, first match wins: ``extra``, ``$MEDMO_PROMPTS_DIR``, bundled."""
    env = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return [Path(p) for p in extra] + env + [BUNDLED_DIR]


def load_template(task: str, *, search: Sequence[str | Path] = ()) -> string.Template:
    """The template for ``task`` from the first folder that has ``TASK.txt``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    folders = search_path(search)
    for folder in folders:
        path = folder / f"{task}.txt"
        if path.is_file():
            return string.Template(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(
        f"no prompt template {task}.txt in {', '.join(str(f) for f in folders)}"
    )


def render_prompt(task: str, *, search: Sequence[str | Path] = (), **values: str) -> str:
    """The task's instruction text with ``values`` filled in (missing placeholders are an error).

    >>> render_prompt("vqa", question="Is there a pneumothorax?")
    'Is there a pneumothorax?'
    """
    template = load_template(task, search=search)
    try:
        text = template.substitute(values)
    except KeyError as exc:
        raise ValueError(f"prompt template {task!r} needs a value for {exc.args[0]!r}") from None
    return text.strip()


def is_instruction(text: str) -> bool:
    """Whether ``text`` reads as a whole instruction rather than a name or a list.

    >>> is_instruction("Where is the mass?"), is_instruction("nodule"), is_instruction("a, b")
    (True, False, False)
    """
    stripped = text.strip()
    return stripped.endswith(("?", ".", "!")) or bool(_REQUEST.match(stripped))


def task_instruction(task: str, text: str, *, search: Sequence[str | Path] = ()) -> str:
    """The instruction sent for ``task`` when the user typed ``text`` (see the module docstring);
    the same for the in-process and the remote engine.

    >>> task_instruction("localize", "Detect and localize all abnormalities in this image.")
    'Detect and localize all abnormalities in this image.'
    >>> task_instruction("localize", "").startswith("Detect and localize all abnormalities")
    True
    >>> task_instruction("ground", "nodule").startswith("Locate the nodule in this image")
    True
    >>> task_instruction("ground", "Where is the mass?")
    'Where is the mass?'
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    field = TASK_FIELD[task]
    text = text.strip()
    template = load_template(task, search=search)
    names = {m.group("named") or m.group("braced") for m in template.pattern.finditer(
        template.template)}
    if text and (field not in names or (task in ("ground", "classify") and is_instruction(text))):
        return text
    return render_prompt(task, search=search, **{field: text})


HINTS_FILE = "medmo.json"


def history_turns(model: str) -> int | None:
    """How many earlier chat turns the model at ``model`` reads, from its folder's
    ``medmo.json`` (``{"history_turns": N}``); None (no limit) when it does not say.

    >>> history_turns("MBZUAI/MedMO-8B") is None
    True
    """
    path = Path(model).expanduser() / HINTS_FILE
    try:
        value = json.loads(path.read_text()).get("history_turns")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value >= 0 else None


def limit_history(history: Sequence[Turn], turns: int | None) -> Sequence[Turn]:
    """The last ``turns`` turns of ``history`` (all of them when ``turns`` is None).

    >>> h = (Turn("user", "a"), Turn("assistant", "b"))
    >>> limit_history(h, None) == h, limit_history(h, 0), len(limit_history(h, 1))
    (True, (), 1)
    """
    if turns is None:
        return history
    return tuple(history)[-turns:] if turns > 0 else ()

def build_messages(
    prompt: str, *, n_images: int, history: Sequence[Turn] = (), system: str | None = None,
    images: Sequence[object] | None = None,
) -> list[dict]:
    """Chat messages: optional system text, the study's earlier turns (text only), then one user
    message with ``n_images`` image items followed by the prompt text.

    ``images`` (PIL images, same count) are put into the image items when given, as the
    processor's ``apply_chat_template`` expects.

    >>> m = build_messages("Q?", n_images=2, history=[Turn("user", "hi"), Turn("assistant", "ok")])
    >>> [x["role"] for x in m], [c["type"] for c in m[-1]["content"]]
    (['user', 'assistant', 'user'], ['image', 'image', 'text'])
    """
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    if images is not None and len(images) != n_images:
        raise ValueError(f"{len(images)} images given for n_images={n_images}")
    messages: list[dict] = []
    if system:
        messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    for turn in history:
        messages.append({"role": turn.role, "content": [{"type": "text", "text": turn.text}]})
    content: list[dict] = []
    for k in range(n_images):
        item: dict = {"type": "image"}
        if images is not None:
            item["image"] = images[k]
        content.append(item)
    content.append({"type": "text", "text": prompt})
    messages.append({"role": "user", "content": content})
    return messages
