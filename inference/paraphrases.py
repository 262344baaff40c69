"""How people ask for each task: the phrasings the demo model is trained on, and a separate set
kept for evaluation only (a model scored on the phrasings it was trained on says little about
the prompts people actually type).

Every entry is what the user types (``""`` is the quick action's empty text: the task's
default instruction). Question types fill ``{side}``, ``{zone}``, ``{kind}``; grounding fills
``{query}`` (a finding named as in :data:`GROUND_QUERIES`). MedMO's own README prompts are in the
training set verbatim. :func:`check_disjoint` is what the tests call: no held-out phrasing is a
training one.
"""

from __future__ import annotations

# the window's quick action text for Describe (app/session/conversation.py QUICK_ACTIONS)
DESCRIBE_TEXT = "Describe this image: modality, anatomy and any abnormal findings."

TRAIN: dict[str, tuple[str, ...]] = {
    "localize": (
        "", "", "", "", "Detect and localize all abnormalities in this image.",
        "Detect and localize all abnormalities in this image.",
        "Localize all abnormalities.", "Find all lesions and give their bounding boxes.",
        "Where are the abnormalities? Give a box for each.", "Mark every finding with a box.",
        "Detect all lesions in this CT slice.", "Show me every abnormal finding.",
        "Locate all abnormal findings in this scan.", "Draw bounding boxes around all lesions.",
        "Find the lesions.", "Detect abnormalities.", "Box all the lesions you see.",
        "Identify every lesion and its location.", "Localise the findings on this slice.",
        "Please detect the abnormalities and draw their boxes.",
    ),
    "report": (
        "", "", "", "", "Generate a detailed radiology report for this CT scan.",
        "Generate a detailed radiology report for this CT scan.",
        "Write a radiology report for this image.", "Draft a report with findings and impression.",
        "Report this CT slice.", "Write the findings and impression.",
        "Generate a radiology report.", "Please write a report for this chest CT.",
        "Create a structured report of this image.", "Draft report.",
        "Write up this scan.", "Compose the radiology report.", "Dictate the findings.",
        "Give me a report of this slice, as a radiologist would.",
    ),
    "describe": (
        DESCRIBE_TEXT, DESCRIBE_TEXT, DESCRIBE_TEXT, "Describe this image.",
        "What do you see in this image?", "Give a short description of this slice.",
        "Describe the image.", "What does this image show?", "Describe this scan briefly.",
        "Tell me what this slice shows.", "Summarise what you see.",
    ),
    "abnormalities": (
        "What abnormalities are present in this chest X-ray?",
        "What abnormalities are present in this CT scan?",
        "What abnormalities are present in this image?", "What findings are there?",
        "List the abnormal findings.", "What is abnormal in this image?",
        "Which lesions are present?", "What abnormal findings can you see?",
        "Name the abnormalities on this slice.", "Which findings does this scan show?",
    ),
    "count": (
        "How many lesions are there?", "How many abnormalities are in this image?",
        "Count the findings.", "How many findings do you see?", "How many lesions?",
        "Count the lesions on this slice.", "Give the number of lesions.",
        "What is the number of findings?", "How many abnormal findings are there?",
        "Number of lesions in this image?",
    ),
    "presence_side": (
        "Is there an abnormality in the {side} lung?", "Any lesion in the {side} lung?",
        "Does the {side} lung contain a lesion?", "Is there a finding in the {side} lung?",
        "Is the {side} lung affected?", "Is anything abnormal on the {side} side?",
        "Do you see a lesion in the {side} lung?", "Are there lesions on the {side} side?",
    ),
    "presence_zone": (
        "Is there a lesion in the {zone} zone?", "Any abnormality in the {zone} zone?",
        "Are there findings in the {zone} zone?", "Do you see anything abnormal in the {zone} zone?",
        "Is the {zone} zone affected?",
    ),
    "presence_kind": (
        "Is there a {kind}?", "Is there any {kind} in this image?", "Do you see a {kind}?",
        "Is a {kind} present?", "Can you see a {kind}?", "Does this slice show a {kind}?",
    ),
    "kind_side": (
        "What is the abnormality in the {side} lung?", "What kind of lesion is in the {side} lung?",
        "What is in the {side} lung?", "What type of finding is in the {side} lung?",
        "Which finding is present in the {side} lung?", "What lesion does the {side} lung show?",
    ),
    "largest": (
        "What is the largest lesion?", "Which finding is the biggest?",
        "What is the largest abnormality?", "Which lesion is largest?",
        "What is the biggest finding on this slice?", "Which abnormality is the largest one?",
    ),
    "zone": (
        "Which zone of the chest is this slice from?", "At what level is this slice?",
        "Which zone is shown?", "Is this the upper, middle or lower zone?",
        "Which part of the chest is this?",
    ),
    # ground: "" stands for the quick action (the query fills the template's $finding)
    "ground": (
        "", "", "", "", "Where is the {query}?", "Locate the {query}.", "Find the {query}.",
        "Show the {query}.", "Give the bounding box of the {query}.", "Box the {query}.",
        "Show me where the {query} is.", "Point to the {query}.",
    ),
    "classify": (
        "", "", "", "Classify this image.", "Classify this scan.",
    ),
}

HELDOUT: dict[str, tuple[str, ...]] = {
    "localize": (
        "Please draw boxes around all abnormalities.", "Identify and localise each lesion.",
        "Box every abnormal finding you can see.",
        "Can you detect the lesions in this scan and give their locations?",
    ),
    "report": (
        "Please write up this slice as a radiologist would.",
        "Compose a report (findings, impression) for this image.",
        "Dictate a radiology report for this chest CT image.",
    ),
    "describe": (
        "Briefly describe what this image shows.", "Describe this slice for me.",
    ),
    "abnormalities": (
        "Which abnormalities can you see?", "What abnormal findings does this image show?",
    ),
    "count": (
        "What is the number of lesions on this slice?", "How many abnormal findings are visible?",
    ),
    "presence_side": (
        "Do you see anything abnormal in the {side} lung?", "Is there a lesion on the {side} side?",
    ),
    "presence_zone": (
        "Does the {zone} zone show any finding?",
    ),
    "presence_kind": (
        "Can a {kind} be seen on this slice?", "Is any {kind} visible?",
    ),
    "kind_side": (
        "Which type of finding is present in the {side} lung?",
    ),
    "largest": (
        "Which is the biggest lesion on this slice?",
    ),
    "zone": (
        "Is this slice from the upper, middle or lower zone?",
    ),
    "ground": (
        "Can you point out the {query}?", "Mark the {query} on this image.",
    ),
    "classify": (
        "Classify this slice.",
    ),
}

# findings named in grounding requests and yes/no questions (see answer_formats.KIND_WORDS)
GROUND_QUERIES: tuple[str, ...] = (
    "solid nodule", "mass", "calcified nodule", "cyst", "pleural effusion", "nodule",
    "effusion", "lesion", "{side} {kind}", "{kind} in the {side} lung",
)
PRESENCE_KINDS: tuple[str, ...] = ("solid nodule", "mass", "calcified nodule", "cyst",
                                   "pleural effusion", "nodule", "effusion")
# label lists asked with classify ("" = the template's $labels filled with these)
LABEL_LISTS: tuple[str, ...] = (
    "normal, solid nodule, mass, calcified nodule, cyst, pleural effusion",
    "normal, abnormal",
)


def phrasings(task: str, *, heldout: bool = False) -> tuple[str, ...]:
    """The phrasings of ``task`` (or question type) for training or for evaluation.

    >>> "Detect and localize all abnormalities in this image." in phrasings("localize")
    True
    >>> set(phrasings("count")) & set(phrasings("count", heldout=True))
    set()
    """
    table = HELDOUT if heldout else TRAIN
    if task not in table:
        raise ValueError(f"no phrasings for {task!r}; known: {', '.join(table)}")
    return table[task]


def check_disjoint() -> list[str]:
    """Held-out phrasings that also appear in training (should be none)."""
    return sorted(p for task, items in HELDOUT.items() for p in items if p in TRAIN[task])
