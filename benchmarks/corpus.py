"""The benchmark corpus: blog posts made from a fixed seed, so every run and every tool gets the
same text (300 to 1,500 words each, with headings, lists, links, fenced code, tags and front
matter).

Links between posts are written as ``](post:<slug>)`` in ``CorpusPost.body``; each project writer
turns them into what its tool resolves (see ``benchmarks.projects``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

DEFAULT_SEED = 20240501
DEFAULT_COUNT = 1000
MIN_WORDS = 300
MAX_WORDS = 1500
# Blocks stop being added once a post reaches its target, and no block is longer than this,
# so a target up to MAX_WORDS - LONGEST_BLOCK keeps every post within bounds.
LONGEST_BLOCK = 120
POST_LINK = re.compile(r"\]\(post:([a-z0-9-]+)\)")
FIRST_DATE = dt.date(2016, 1, 1)

TAGS = (
    "python", "javascript", "web", "performance", "databases", "testing", "devops", "design",
    "security", "networking", "linux", "rust", "go", "css", "html", "tooling", "career", "writing",
    "architecture", "caching", "search", "observability", "cloud", "frontend", "backend", "api",
    "async", "compilers", "data", "notes",
)  # fmt: skip
_ONSETS = ("b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "st", "tr", "pl", "gr", "ch")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou")
_CODAS = ("", "", "n", "r", "s", "t", "l", "nd", "st", "ck")
_LANGUAGES = ("python", "javascript", "bash", "toml")


@dataclass(frozen=True)
class CorpusPost:
    slug: str
    title: str
    date: dt.date
    tags: tuple[str, ...]
    summary: str
    body: str

    @property
    def words(self) -> int:
        return len(self.body.split())


def generate_posts(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> tuple[CorpusPost, ...]:
    """``count`` posts, identical for an equal ``seed`` on any machine and Python version
    (only ``random.Random``'s documented, stable methods are used)."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 900)
    titles = [_title(rng, vocabulary) for _ in range(count)]
    slugs = [f"{_slug(title)}-{index:04d}" for index, title in enumerate(titles)]
    posts = []
    for index, (title, slug) in enumerate(zip(titles, slugs, strict=True)):
        target = rng.randint(MIN_WORDS, MAX_WORDS - LONGEST_BLOCK)
        others = [other for other in slugs if other != slug]
        posts.append(
            CorpusPost(
                slug=slug,
                title=title,
                date=FIRST_DATE + dt.timedelta(days=index),
                tags=tuple(rng.sample(TAGS, rng.randint(1, 4))),
                summary=_sentence(rng, vocabulary, 14, 24),
                body=_body(rng, vocabulary, target, others),
            )
        )
    return tuple(posts)


def edited(text: str, token: str) -> str:
    """A post file with one more paragraph at its end, carrying ``token`` (front matter, title
    and summary stay the same, so only the body changes)."""
    return text.rstrip("\n") + f"\n\nThis paragraph was added by edit {token} of the benchmark.\n"


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice((1, 1, 2, 2, 2, 3))
        words.add("".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)))
    return sorted(words)


def _words(rng: random.Random, vocabulary: list[str], low: int, high: int) -> list[str]:
    return [rng.choice(vocabulary) for _ in range(rng.randint(low, high))]


def _sentence(rng: random.Random, vocabulary: list[str], low: int, high: int) -> str:
    words = _words(rng, vocabulary, low, high)
    return " ".join(words).capitalize() + "."


def _title(rng: random.Random, vocabulary: list[str]) -> str:
    return " ".join(word.capitalize() for word in _words(rng, vocabulary, 3, 7))


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _body(rng: random.Random, vocabulary: list[str], target: int, others: list[str]) -> str:
    """Every post has each kind of block at least once, then random ones up to ``target`` words."""
    blocks = [
        _paragraph(rng, vocabulary, others, link=f"post:{rng.choice(others)}"),
        _heading(rng, vocabulary) + "\n\n" + _paragraph(rng, vocabulary, others),
        _list(rng, vocabulary, others),
        _code(rng, vocabulary),
    ]
    words = sum(len(block.split()) for block in blocks)
    while words < target:
        kind = rng.choices(("paragraph", "heading", "list", "code", "quote"), weights=(8, 2, 2, 2, 1))[0]
        if kind == "heading":
            block = _heading(rng, vocabulary) + "\n\n" + _paragraph(rng, vocabulary, others)
        elif kind == "list":
            block = _list(rng, vocabulary, others)
        elif kind == "code":
            block = _code(rng, vocabulary)
        elif kind == "quote":
            block = "> " + _sentence(rng, vocabulary, 10, 25)
        else:
            block = _paragraph(rng, vocabulary, others)
        blocks.append(block)
        words += len(block.split())
    rest = blocks[1:]
    rng.shuffle(rest)
    return "\n\n".join([blocks[0], *rest]) + "\n"


def _paragraph(rng: random.Random, vocabulary: list[str], others: list[str], link: str | None = None) -> str:
    """3 to 6 sentences, some with a link or emphasis; ``link`` puts that link in the first one."""
    sentences = []
    for number in range(rng.randint(3, 6)):
        words = _words(rng, vocabulary, 6, 14)
        spot = rng.randrange(len(words))
        decoration = rng.random()
        if number == 0 and link is not None:
            words[spot] = f"[{words[spot]}]({link})"
        elif decoration < 0.15:
            words[spot] = f"[{words[spot]}](post:{rng.choice(others)})"
        elif decoration < 0.25:
            words[spot] = f"[{words[spot]}](https://example.com/{rng.choice(vocabulary)}/)"
        elif decoration < 0.40:
            words[spot] = f"**{words[spot]}**"
        elif decoration < 0.50:
            words[spot] = f"`{words[spot]}()`"
        elif decoration < 0.60:
            words[spot] = f"*{words[spot]}*"
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _heading(rng: random.Random, vocabulary: list[str]) -> str:
    level = rng.choice(("##", "##", "###"))
    return f"{level} " + " ".join(word.capitalize() for word in _words(rng, vocabulary, 2, 5))


def _list(rng: random.Random, vocabulary: list[str], others: list[str]) -> str:
    ordered = rng.random() < 0.4
    items = []
    for number in range(1, rng.randint(3, 7) + 1):
        text = " ".join(_words(rng, vocabulary, 4, 12))
        if rng.random() < 0.2:
            text += f" (see [{rng.choice(vocabulary)}](post:{rng.choice(others)}))"
        items.append(f"{number}. {text}" if ordered else f"- {text}")
    return "\n".join(items)


def _code(rng: random.Random, vocabulary: list[str]) -> str:
    language = rng.choice(_LANGUAGES)
    names = rng.sample(vocabulary, 4)
    lines: list[str]
    if language == "python":
        lines = [f"def {names[0]}({names[1]}, {names[2]}=None):", f'    """{_sentence(rng, vocabulary, 4, 8)}"""']
        lines += [f"    {names[3]} = [{names[1]}[i] * {rng.randint(2, 99)} for i in range({rng.randint(3, 50)})]"]
        lines += [
            f"    if {names[2]} is not None:",
            f"        return {names[3]} + [{names[2]}]",
            f"    return {names[3]}",
        ]
    elif language == "javascript":
        lines = [f"export async function {names[0]}({names[1]}) {{"]
        lines += [f"  const {names[2]} = await fetch(`/api/{names[3]}/${{{names[1]}}}`);"]
        lines += [f"  if (!{names[2]}.ok) throw new Error('{names[3]} failed: ' + {names[2]}.status);"]
        lines += [f"  return {{ ...(await {names[2]}.json()), limit: {rng.randint(1, 500)} }};", "}"]
    elif language == "bash":
        lines = [f"# {_sentence(rng, vocabulary, 3, 7)}", f"for {names[0]} in $(ls {names[1]}/*.txt); do"]
        lines += [f'  grep -c "{names[2]}" "${names[0]}" >> {names[3]}.log', "done", f"echo done: {rng.randint(1, 9)}"]
    else:
        lines = [f"[{names[0]}]", f'{names[1]} = "{names[2]}"', f"{names[3]} = {rng.randint(1, 9999)}"]
        lines += [f"enabled = {rng.choice(('true', 'false'))}"]
    return f"```{language}\n" + "\n".join(lines) + "\n```"
