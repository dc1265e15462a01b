"""The clean stage's fast paths give what the plainer versions in ``clean_reference`` give.

Random pages mix what the fast paths take shortcuts on: whitespace-only and blank-line
texts, U+200B, links with and without children, breaks, data and layout tables, lists,
hidden and boilerplate-marked containers, and tags that are dropped.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from abstractpipe.clean import CleanRules, html

from . import clean_reference as reference

REPO = Path(__file__).resolve().parents[1]
RULES = CleanRules.from_file(REPO / "configs" / "clean.yaml")
FIXTURES = REPO / "tests" / "fixtures" / "clean"

TEXTS = [
    "",
    " ",
    "  ",
    "\n",
    "\n  ",
    "\n\n",
    " \n \n ",
    "\t",
    "\u00a0",
    "\u200b",
    " \u200b\n\n",
    "word",
    " word ",
    "two words",
    "end.\n\nNext part",
    "line\none",
    "中文字符",
    "，标点。",
    "Patients were randomly assigned to the study drug or placebo for twelve weeks, and the trial met its goal.",
    "Related articles",
    "Share this",
    "Home",
    "© 2024 The Journal",
    "x" * 40,
]
BLOCKS = ["div", "p", "section", "ul", "ol", "li", "h1", "h2", "h3", "table", "tr", "td", "th", "blockquote"]
BLOCKS += ["article", "main", "dl", "dt", "dd", "pre", "figure", "figcaption", "caption", "hr", "center"]
INLINE = ["a", "span", "b", "em", "i", "font", "img", "br", "strong", "small", "sup", "code"]
DROPPED = ["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "button", "svg"]
CLASSES = ["", "content", "post-body", "sidebar", "comments", "comment-3", "widget", "row12", "nav-2"]
CLASSES += ["entry", "related-posts", "with-sidebar", "text", "item item-7", "share", "main-text"]


def _attributes(rng: random.Random) -> str:
    out = []
    if rng.random() < 0.4:
        out.append(f'class="{rng.choice(CLASSES)}"')
    if rng.random() < 0.1:
        out.append(f'id="{rng.choice(["comments", "main", "post1", "nav", "content"])}"')
    if rng.random() < 0.04:
        out.append('role="main"')
    if rng.random() < 0.03:
        out.append(
            rng.choice(["hidden", 'aria-hidden="true"', 'style="display: none"', 'style="color: red"'])
        )
    if rng.random() < 0.1:
        out.append('href="/x"')
    return (" " + " ".join(out)) if out else ""


def _table(rng: random.Random, depth: int) -> str:
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_content(rng, depth + 3, rng.randint(0, 2))}</td>" for _ in range(rng.randint(1, 3)))
        + "</tr>"
        for _ in range(rng.randint(1, 4))
    )
    caption = f"<caption>{_text(rng)}</caption>" if rng.random() < 0.3 else ""
    return f"<table{_attributes(rng)}>{caption}{rows}</table>" + _text(rng)


PROSE = [t for t in TEXTS if len(t) > 60]


def _sections(rng: random.Random) -> str:
    """Sibling containers of prose, alike or styled differently (repeated structures)."""
    name = rng.choice(["div", "section", "td"])
    return "".join(
        f'<{name} class="{rng.choice(CLASSES)}">'
        + "".join(f"<p>{rng.choice(PROSE)} {_text(rng)}</p>" for _ in range(rng.randint(1, 3)))
        + f"</{name}>"
        for _ in range(rng.randint(2, 4))
    )


def _element(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if roll < 0.05 and depth < 5:
        return _table(rng, depth)
    if roll < 0.1 and depth < 4:
        return _sections(rng)
    if roll < 0.45 or depth > 7:
        name = rng.choice(INLINE)
    elif roll < 0.9:
        name = rng.choice(BLOCKS)
    else:
        name = rng.choice(DROPPED)
    if name in ("img", "br", "hr"):
        return f"<{name}{_attributes(rng)}>" + _text(rng)
    inner = _content(rng, depth + 1, rng.randint(0, 4 if depth < 4 else 2))
    return f"<{name}{_attributes(rng)}>{inner}</{name}>" + _text(rng)


def _text(rng: random.Random) -> str:
    text = rng.choice(TEXTS)
    if rng.random() < 0.05:
        text += rng.choice(["&amp;", "&nbsp;", "<!-- note -->", "&#8203;"])
    return text


def _content(rng: random.Random, depth: int, count: int) -> str:
    return _text(rng) + "".join(_element(rng, depth) for _ in range(count))


def random_page(seed: int) -> str:
    rng = random.Random(seed)
    metas = [
        "<meta name='x' content='y'>",
        "<meta property='og:title' content=' T '>",
        "<meta name=' Desc ' content=''>",
        "<meta name=' Keywords ' content=' a, b '>",
        "<meta name=' ' content='blank key'>",
        "<meta name='DC.Title'>",
        "<meta content='no key'>",
        "<link rel='Canonical alternate' href='/c'>",
        "<script type=' application/ld+json'>{}</script>",
    ]
    head = f"<head><title> T  x</title>{''.join(rng.sample(metas, 4))}<script>var a;</script></head>"
    return f"<html>{head}<body{_attributes(rng)}>{_content(rng, 0, rng.randint(1, 9))}</body></html>"


def pages() -> list[str]:
    fixtures = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.html"))]
    return fixtures + [random_page(seed) for seed in range(400)]


def _fields(blocks: list) -> list[tuple]:
    return [(b.text, b.kind, b.level, b.list_id, b.path, b.link_chars, len(b.ancestors)) for b in blocks]


@pytest.mark.parametrize("dropped", [False, True])
def test_walk_gives_the_blocks_of_the_frame_per_element_walk(dropped: bool) -> None:
    # The walk keeps no whitespace opening a flow and takes inline elements without a frame.
    for markup in pages():
        root = html.parse_tree(markup)
        assert root is not None
        if dropped:
            html.drop_non_content(root, RULES, None, Counter())
        body = html._body(root)
        fast, plain = html._Walker().walk(body), reference._Walker().walk(body)
        assert _fields(fast) == _fields(plain), markup
        for ours, theirs in zip(fast, plain, strict=True):  # the same elements, not equal ones
            assert all(a is b for a, b in zip(ours.ancestors, theirs.ancestors, strict=True))


def _site_rules() -> CleanRules:
    """The shipped rules plus a site with drop selectors (they run inside drop_non_content)."""
    import yaml

    from abstractpipe.clean.rules import compile_rules

    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    data["sites"] = {"s.example": {"drop_selectors": ["div.share", "span.text", "#comments"]}}
    return compile_rules(data)


SITE_RULES = _site_rules()


@pytest.mark.parametrize("containers", [True, False])
def test_drop_non_content_leaves_the_tree_the_plain_version_leaves(containers: bool) -> None:
    from lxml import etree

    for index, markup in enumerate(pages()):
        site = "s.example" if index % 2 else None
        fast, plain = html.parse_tree(markup), reference.parse_tree(markup)
        fast_counts: Counter[str] = Counter()
        plain_counts: Counter[str] = Counter()
        fast_chars = html.drop_non_content(fast, SITE_RULES, site, fast_counts, containers)
        plain_chars = reference.drop_non_content(plain, SITE_RULES, site, plain_counts, containers)
        assert (fast_chars, fast_counts) == (plain_chars, plain_counts), markup
        assert etree.tostring(fast) == etree.tostring(plain), markup


def test_choose_main_keeps_the_blocks_the_plain_version_keeps() -> None:
    for markup in pages():
        root = html.parse_tree(markup)
        html.drop_non_content(root, RULES, None, Counter())
        blocks = html._Walker().walk(html._body(root))
        fast_counts: Counter[str] = Counter()
        plain_counts: Counter[str] = Counter()
        fast = html.choose_main(list(blocks), RULES, fast_counts)
        plain = reference.choose_main(list(blocks), RULES, plain_counts)
        assert [id(b) for b in fast] == [id(b) for b in plain], markup
        assert fast_counts == plain_counts, markup


def test_parse_html_gives_what_the_plain_versions_give() -> None:
    for index, markup in enumerate(pages()):
        site = "s.example" if index % 2 else None
        fast_counts: Counter[str] = Counter()
        plain_counts: Counter[str] = Counter()
        fast = html.parse_html(markup, SITE_RULES, site, fast_counts)
        plain = reference.parse_html(markup, SITE_RULES, site, plain_counts)
        assert (_fields(fast[0]), fast[1], fast_counts) == (_fields(plain[0]), plain[1], plain_counts), markup


def _searched_flags(data: dict, token: str) -> tuple[bool, bool, bool]:
    """Token flags by searching the joined attribute patterns (before TokenPattern)."""
    from abstractpipe.clean.rules import _attr_regex

    html_rules = data["html"]
    boilerplate_attr = _attr_regex(
        html_rules["boilerplate_attr"], "b", whole=html_rules["boilerplate_attr_whole"]
    )
    boilerplate = bool(boilerplate_attr.search(token))
    return (
        boilerplate,
        boilerplate and not _attr_regex(html_rules["weak_attr"], "w").search(token),
        bool(_attr_regex(html_rules["content_attr"], "c").search(token)),
    )


@pytest.mark.parametrize("odd", [False, True])
def test_token_patterns_find_what_the_joined_patterns_find(odd: bool) -> None:
    import yaml

    from abstractpipe.clean.rules import compile_rules

    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    if odd:  # anchors, groups and back references, lookbehind, dots, case
        data["html"]["boilerplate_attr"] += ["^start", "end$", "(x)y\\1", "(?<=q)z", "a.b", "Share"]
        data["html"]["boilerplate_attr_whole"] += ["(w)+\\1", "Top"]
        data["html"]["content_attr"] += ["(?<![a-z])body", "^lead"]
        data["html"]["weak_attr"] += ["(x)y\\1"]
    rules = compile_rules(data)
    words = ["menu", "nav", "navbar", "sidebar", "side-bar", "comments", "hidden", "widget", "banner"]
    words += ["content", "post-body", "article", "ad", "ads", "top", "start", "end", "xyx", "qz", "a-b"]
    words += ["wwww", "body", "lead", "ſhare", "SHARE", "İ", "K", "x", "1", "main", "text", "detail"]
    rng = random.Random(5)
    tokens = set(words)
    for _ in range(20000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 4))]
        seps = [rng.choice(["-", "_", "", "--", "-_", "2"]) for _ in parts]
        token = "".join(p + s for p, s in zip(parts, seps, strict=True))
        tokens.add(token if rng.random() < 0.8 else token.upper())
        tokens.add(rng.choice(["-", "_", "x", ""]) + token)
    for token in sorted(tokens):
        assert rules._token_flags(token) == _searched_flags(data, token), token
