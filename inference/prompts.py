"""Task prompt templates, read from files a site can edit, and the chat messages built from them.

Templates live in ``resources/prompts/TASK.txt`` (``string.Template`` syntax, ``$name``). Folders
named in ``MEDMO_PROMPTS_DIR`` (or passed as ``search``) are searched first, so a site overrides a
template by dropping a file of the same name there.
"""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from pathlib import Path

from inference.types import Turn

TASKS: tuple[str, ...] = ("vqa", "report", "localize", "ground", "classify", "summarize")
# The placeholder each task's main text fills (see resources/prompts/README.md).
TASK_FIELD = {"vqa": "question", "report": "question", "localize": "question",
              "ground": "finding", "classify": "labels", "summarize": "text"}
BOX_TASKS = ("localize", "ground")
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


def task_instruction(task: str, text: str, *, search: Sequence[str | Path] = ()) -> str:
    """The instruction for ``task`` with the user's ``text`` in its main placeholder (the same
    for the in-process and the remote engine).

    >>> task_instruction("vqa", "Is there a pneumothorax?")
    'Is there a pneumothorax?'
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return render_prompt(task, search=search, **{TASK_FIELD[task]: text})


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
