"""HTML pages -> page metadata and main-content blocks (lxml.html tree).

Steps, in order, on one parse: read ``page_meta``; drop non-content elements
(tags, hidden elements, site selectors, containers whose class/id/role looks
like boilerplate); walk the tree into blocks; keep the best-scoring content
container with its strong siblings and containers of the same shape, widened when
they hold too little of the page's prose, plus the page's h1 title when it sits
outside it; drop mostly-link lines. A page left almost empty is parsed a second time
keeping the containers that looked like boilerplate.

The tree is lxml's own, not a BeautifulSoup tree built from lxml's parser events: building
the bs4 tree took about 60% of the stage's time. It is a plain ``lxml.etree`` tree from the
HTML parser: ``lxml.html``'s element classes cost a Python class lookup for every element
the walk touches, and only ``drop_tree`` and ``cssselect`` were used from them.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml.cssselect import CSSSelector

from abstractpipe.clean.blocks import CleanBlock, normalise_space, punctuation_count, token_count
from abstractpipe.clean.rules import CleanRules, MainContentSettings

HtmlElement = etree._Element

HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements that end the current run of inline text.
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
        "caption",
        "menu",
        "legend",
    ]
)
# Blocks of these tags are units of text; their score goes to the element holding them.
LEAF_TAGS = frozenset(
    [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "dt",
        "dd",
        "figcaption",
        "caption",
        "pre",
        "blockquote",
        "summary",
    ]
)
KIND_BY_TAG = {"li": "list_item", "figcaption": "caption", "caption": "caption"}
NEVER_DROP = frozenset({"html", "body", "main", "article"})
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+")
_DOUBLE_BREAK_RE = re.compile(r"\n\s*\n")
# Kinds of kept block that go when they are mostly link text (see _drop_link_lines).
LINK_LINE_KINDS = frozenset({"paragraph", "list_item", "table"})
# A block with more link text than this share is a link entry, not prose.
PROSE_MAX_LINK_SHARE = 0.3


_HTML_LANG_RE = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)
# Comments and processing instructions are removed while parsing (their tails are kept);
# huge_tree lifts libxml2's depth limit of 256 (real pages nest deeper).
_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)


def parse_tree(markup: str, encoded: bytes | None = None) -> HtmlElement | None:
    """The page's ``<html>`` element, or None when there is no markup at all.

    ``encoded``, when given, must be ``markup.encode("utf-8")`` (ingest keeps a page's own
    UTF-8 bytes): encoding a large page again costs ~7% of its parse.
    """
    data = encoded if encoded is not None else markup.encode("utf-8", "replace")
    try:
        return etree.fromstring(data, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _css_selector(selector: str) -> CSSSelector:
    return CSSSelector(selector)


def drop_tree(tag: HtmlElement) -> None:
    """Remove ``tag`` and its subtree, keeping its tail text where it was (lxml.html's drop_tree)."""
    parent = tag.getparent()
    if parent is None:
        return
    if tag.tail:
        previous = tag.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + tag.tail
        else:
            previous.tail = (previous.tail or "") + tag.tail
    parent.remove(tag)


def _text(tag: HtmlElement, separator: str = "") -> str:
    return separator.join(tag.itertext())


def read_page_meta(root: HtmlElement, markup: str = "") -> dict[str, list[str]]:
    """``<meta>``, ``<title>``, JSON-LD, canonical link and ``<html lang>``, read before any drop."""
    meta: dict[str, list[str]] = {}

    def add(key: str, value: str | None) -> None:
        if value is None:
            return
        value = value.strip()
        if key and value:
            meta.setdefault(key.strip().lower(), []).append(value)

    add("html_lang", root.get("lang") or root.get("xml:lang"))
    if "html_lang" not in meta and (match := _HTML_LANG_RE.search(markup[:20000])):
        # libxml2 drops the attributes of an <html> that comes after other markup (a leading <script>).
        add("html_lang", match[1])
    # One pass over the tree collects the four kinds; they are read kind by kind as before.
    found: dict[str, list[HtmlElement]] = {"title": [], "meta": [], "link": [], "script": []}
    for tag in root.iter("title", "meta", "link", "script"):
        found[tag.tag].append(tag)
    if found["title"]:
        add("title", normalise_space(_text(found["title"][0])))
    for tag in found["meta"]:
        key = tag.get("name") or tag.get("property")
        if key:
            add(key, tag.get("content"))
    for tag in found["link"]:
        if "canonical" in (tag.get("rel") or "").lower().split():
            add("canonical", tag.get("href"))
    for tag in found["script"]:
        if (tag.get("type") or "").strip().lower() == "application/ld+json":
            add("jsonld", _text(tag))
    return meta


def _attr(tag: HtmlElement, name: str) -> str | None:
    return tag.get(name)


def _classes(tag: HtmlElement) -> list[str]:
    return (tag.get("class") or "").split()


def _attr_key(tag: HtmlElement) -> str:
    """The class, id and role values as one space-separated string ("" when none)."""
    get = tag.get
    return f"{get('class') or ''} {get('id') or ''} {get('role') or ''}".strip()


def _inside(tag: HtmlElement, names: frozenset[str] | set[str]) -> bool:
    return any(parent.tag in names for parent in tag.iterancestors())


# Attributes that can hide an element or name it as content or chrome.
_MARKING_ATTRS = frozenset({"class", "id", "role", "hidden", "aria-hidden", "style"})
_HIDING_ATTRS = frozenset({"hidden", "aria-hidden", "style"})
_ROLE_MAIN = etree.XPath("descendant::*[@role='main']")
# Every text node of a subtree, as plain strings (no "smart" strings pointing back to the tree).
_TEXT_NODES = etree.XPath("descendant::text()", smart_strings=False)


def _subtree_text(tag: HtmlElement) -> str:
    """``"".join(tag.itertext())``, built by libxml2 in one call: about 3x as fast on a page."""
    return etree.tostring(tag, method="text", encoding=str, with_tail=False)


def _spaced_text(tag: HtmlElement) -> str:
    """``" ".join(tag.itertext())`` for large subtrees: the text nodes come from one XPath call.

    The parser and ``drop_tree`` never leave two text nodes side by side, so the nodes are the
    pieces ``itertext`` yields (``test_clean`` checks this on the fixture pages).
    """
    return " ".join(_TEXT_NODES(tag))


def _holds_main(tag: HtmlElement) -> bool:
    """``tag`` holds an <article>, <main> or role=main element."""
    return next(tag.iterdescendants("article", "main"), None) is not None or bool(_ROLE_MAIN(tag))


# What _marked_elements gives for an element the container and hidden drops look at: the
# element, whether it is hidden, and its element_flags boilerplate and strong flags (None when
# they are left to be read if it is still there when its turn comes).
_Flagged = tuple[HtmlElement, bool, bool | None, bool]


def _marked_elements(
    body: HtmlElement, rules: CleanRules, containers: bool
) -> tuple[list[HtmlElement], list[HtmlElement], list[_Flagged], list[HtmlElement]]:
    """In document order, one pass over ``body``: the elements below it with a marking
    attribute; those of them that are hidden; those that are hidden or (with ``containers``)
    named as boilerplate by their class/id/role, with those flags, leaving out the tags never
    dropped; and the <article>, <main> and role=main ones (``body`` included).

    A Python pass reading attribute names beats an XPath predicate testing six attributes on
    every element by about 2x; the flags are read in the same pass, so the drops visit only the
    elements they may remove. Inside a hidden element, which may be dropped whole, the flags are
    not read here: reading them costs regex searches on a page's first class names."""
    marked: list[HtmlElement] = []
    hidden_tags: list[HtmlElement] = []
    flagged: list[_Flagged] = []
    main_like: list[HtmlElement] = [body] if body.tag in ("article", "main") else []
    element_flags = rules.element_flags
    elements = body.iter(etree.Element)
    next(elements)  # body itself
    hidden_until = -1  # the elements up to this position are inside a hidden element
    for position, tag in enumerate(elements):
        names = tag.keys()
        if names and not _MARKING_ATTRS.isdisjoint(names):
            marked.append(tag)
            name = tag.tag
            get = tag.get
            role = get("role") if "role" in names else None  # absent names need no lookup
            if role == "main" or name in ("article", "main"):
                main_like.append(tag)
            hidden = not _HIDING_ATTRS.isdisjoint(names) and _is_hidden(tag)
            if hidden:
                hidden_tags.append(tag)
            if name in NEVER_DROP:
                continue
            if hidden or position <= hidden_until:  # a hidden element's own flags go unread
                if hidden or containers:
                    flagged.append((tag, hidden, None, False))
            else:
                boilerplate = strong = False
                if containers:
                    boilerplate, strong, _ = element_flags(
                        get("class") if "class" in names else None, get("id") if "id" in names else None, role
                    )
                if hidden or boilerplate:
                    flagged.append((tag, hidden, boilerplate, strong))
            if hidden:
                inside = sum(1 for _ in tag.iterdescendants(etree.Element))
                hidden_until = max(hidden_until, position + inside)
        elif tag.tag in ("article", "main"):
            main_like.append(tag)
    return marked, hidden_tags, flagged, main_like


def _main_holders(elements: list[HtmlElement]) -> dict[int, HtmlElement]:
    """The elements that hold an <article>, <main> or role=main element, by id."""
    # The values keep the proxies alive: lxml frees an unreferenced element proxy and a later
    # one can take its id, which made a walk stop early at a stranger's id.
    holders: dict[int, HtmlElement] = {}
    for tag in elements:
        if tag.tag in ("article", "main") or tag.get("role") == "main":
            for parent in tag.iterancestors():
                if id(parent) in holders:
                    break
                holders[id(parent)] = parent
    return holders


class _Dropper:
    """Removes elements from the tree and remembers what went (descendants included)."""

    def __init__(self) -> None:
        self.gone: set[int] = set()
        # lxml makes element proxies on demand and frees them when unreferenced, and a freed
        # proxy's id can be reused by a later one: holding the dropped ones keeps ids unique.
        self._held: list[HtmlElement] = []

    def drop(self, tag: HtmlElement) -> None:
        nodes = list(tag.iter())
        self._held.extend(nodes)
        self.gone.update(map(id, nodes))
        drop_tree(tag)  # keeps the tail text, which belongs to the surrounding content

    def __contains__(self, tag: HtmlElement) -> bool:
        return id(tag) in self.gone


def _body(root: HtmlElement) -> HtmlElement:
    body = next(root.iterdescendants("body"), None)  # find(".//body") without ElementPath
    return body if body is not None else root


def _rescue_body_from_head(root: HtmlElement, counters: Counter[str]) -> None:
    """Move a ``<body>`` that libxml2 nested inside ``<head>`` back under ``<html>``.

    An unknown element in ``<head>`` (a CMS include tag) makes libxml2 keep the rest of the
    page inside it, so dropping ``<head>`` would drop the whole page.
    """
    head = next(root.iterchildren("head"), None)
    if head is None:
        return
    body = next(head.iterdescendants("body"), None)
    if body is not None:
        root.append(body)
        counters["html_body_moved_out_of_head"] += 1


def drop_non_content(
    root: HtmlElement, rules: CleanRules, site: str | None, counters: Counter[str], containers: bool = True
) -> int:
    """Remove elements that cannot hold main content, in place; with ``containers`` False the
    containers whose class/id/role looks like boilerplate stay. Returns the page's visible
    characters before hidden and container drops."""
    _rescue_body_from_head(root, counters)
    found = list(root.iter(*rules.drop_tags))  # tag names filtered in C, in document order
    index = 0
    while index < len(found):
        tag = found[index]
        index += 1
        if tag is root:  # only what is below the root goes
            continue
        # An article's own <header> (title, authors, date) is content.
        if tag.tag == "header" and _inside(tag, {"article", "main"}):
            continue
        # The drop tags inside it come next in document order and go with it: they are
        # skipped by count, not by walking up from each to see whether it is still attached.
        for _ in tag.iterdescendants(*rules.drop_tags):
            index += 1
        drop_tree(tag)
        counters["html_dropped_tag"] += 1
    # Small forms (search, login, subscribe) go; a form wrapping the page (ASP.NET) or a
    # post (forums) stays. Measured after the other drops, so inputs and scripts do not count.
    dropped = _Dropper()
    gone = dropped.gone  # ids of the dropped elements and of everything inside them
    small_tags = list(root.iter(*rules.drop_small_tags)) if rules.drop_small_tags else []
    all_chars = -1  # the page's text before these drops, measured once a small tag needs it
    body_text: str | None = None  # the body's text while nothing has been dropped from it
    for tag in small_tags:
        if id(tag) in gone or _holds_main(tag):
            continue
        chars = len(normalise_space(_spaced_text(tag)))
        if chars >= rules.small_tag_max_chars:
            continue
        if all_chars < 0:
            body_text = _subtree_text(_body(root))
            # The page's visible characters other than U+200B (normalise_space removes it) are
            # at most all_chars: when that already protects no small tag, it need not be counted.
            all_chars = len("".join(body_text.split())) - body_text.count("\u200b")
            if rules.protect_share * all_chars < rules.small_tag_max_chars:
                all_chars = len(normalise_space(_spaced_text(_body(root))))
        if chars > rules.protect_share * all_chars:
            continue
        dropped.drop(tag)
        counters["html_dropped_small_tag"] += 1
    for selector in rules.selectors_for(site):
        for tag in _css_selector(selector)(root):
            if id(tag) not in gone:
                dropped.drop(tag)
                counters["html_dropped_selector"] += 1
    body = _body(root)
    if body_text is not None and not gone:  # nothing dropped since it was read
        page_chars = len("".join(body_text.split())) or 1
    else:
        page_chars = _visible_chars(body) or 1
    candidates: list[tuple[HtmlElement, str, int]] = []
    candidate_ids: set[int] = set()
    # Only elements with these attributes can be hidden, marked or named as chrome.
    elements, hidden, flagged, main_like = _marked_elements(body, rules, containers)
    holders = _main_holders(main_like)
    hidden_prose = _hidden_prose(hidden, body, page_chars, rules.protect_share) if hidden else set()
    for tag, is_hidden, boilerplate, strong in flagged:  # the others are neither dropped nor kept
        if id(tag) in gone:
            continue
        if is_hidden:
            # Script-rendered pages may ship the server-rendered body hidden and reveal it
            # by script: a hidden element holding most of the page text is its content, and
            # so are hidden prose sections that together hold most of it (collapsed parts).
            if id(tag) in hidden_prose or _visible_chars(tag) > rules.protect_share * page_chars:
                counters["html_protected_hidden"] += 1
                continue
            dropped.drop(tag)
            counters["html_dropped_hidden"] += 1
            continue
        if not containers:
            continue
        if boilerplate is None:  # inside a hidden element that stayed
            get = tag.get
            boilerplate, strong, _ = rules.element_flags(get("class"), get("id"), get("role"))
        if not boilerplate or id(tag) in holders:
            continue
        if not strong:
            # Only weak tokens ("widget"): Blogger and page builders put posts in widgets.
            # Keep it when it reads like prose: enough text, few links.
            text_chars = len(normalise_space(_spaced_text(tag)))
            if text_chars >= rules.weak_keep_chars and _link_chars(tag) <= 0.3 * text_chars:
                counters["html_protected_container"] += 1
                continue
        nested = any(id(parent) in candidate_ids for parent in tag.iterancestors())
        candidate_ids.add(id(tag))
        # A nested candidate forms no group and mostly goes with the one holding it: its
        # size is measured only if it is still there when its turn comes.
        candidates.append((tag, "", -1) if nested else (tag, _signature(tag), _visible_chars(tag)))
    # Repeated containers of one kind (forum posts marked "comment") that together hold most
    # of the page are its content, not chrome. Not so for the items of one marked container
    # (the slides of a promo carousel): those do not form a group.
    group_chars: Counter[str] = Counter()
    group_sizes: Counter[str] = Counter()
    for _, signature, chars in candidates:
        if signature:
            group_chars[signature] += chars
            group_sizes[signature] += 1
    rivals: list[HtmlElement] | None = None
    for tag, signature, chars in candidates:
        if id(tag) in gone:
            continue
        if chars < 0:
            chars = _visible_chars(tag)
        grouped = group_chars[signature] if signature and group_sizes[signature] > 1 else 0
        protected = max(chars, grouped) > rules.protect_share * page_chars
        if protected and grouped <= rules.protect_share * page_chars:
            # One big container named as chrome (a long comment thread, div#comments) is still
            # chrome when the page marks its content elsewhere (div.post beside it). Wrappers
            # whose class only contains such a word ("with-sidebar") stay protected.
            key = _attr_key(tag)
            if not rules.attr_flags(key)[2] and rules.names_boilerplate(key):
                if rivals is None:
                    rivals = _content_marked(elements, rules, dropped)
                protected = not any(_disjoint(tag, rival) for rival in rivals)
        if protected:
            counters["html_protected_container"] += 1
            continue
        dropped.drop(tag)
        counters["html_dropped_container"] += 1
    return page_chars


def _is_hidden(tag: HtmlElement) -> bool:
    style = tag.get("style")
    return (
        tag.get("hidden") is not None
        or (tag.get("aria-hidden") or "").lower() == "true"
        or bool(style and _HIDDEN_STYLE_RE.search(style))
    )


def _hidden_prose(
    hidden: list[HtmlElement], body: HtmlElement, page_chars: int, protect_share: float
) -> set[int]:
    """Outermost hidden elements that read as prose (few links, text found nowhere else on the
    page) when together they hold more than ``protect_share`` of it: collapsed sections of the
    content, not a hidden second copy of it (responsive or AMP duplicates)."""
    found: list[tuple[HtmlElement, str]] = []
    inside: set[int] = set()
    for tag in hidden:  # in document order: an outer element comes before what it holds
        if id(tag) in inside:
            continue
        inside.update(id(node) for node in tag.iter())
        text = "".join(_subtree_text(tag).split())
        if text and _link_chars(tag) <= PROSE_MAX_LINK_SHARE * len(text):
            found.append((tag, text))
    if sum(len(text) for _, text in found) <= protect_share * page_chars:
        return set()
    page_text = "".join(_subtree_text(body).split())
    unique = [(tag, text) for tag, text in found if page_text.count(text[:200]) == 1]
    if sum(len(text) for _, text in unique) <= protect_share * page_chars:
        return set()
    return {id(tag) for tag, _ in unique}


def _content_marked(elements: list[HtmlElement], rules: CleanRules, dropped: _Dropper) -> list[HtmlElement]:
    """Elements whose class/id marks main content (and nothing else) and that hold prose."""
    marked = []
    for tag in elements:
        key = _attr_key(tag)
        if not key or tag in dropped:
            continue
        boilerplate, _, content = rules.attr_flags(key)
        if content and not boilerplate and _visible_chars(tag) >= rules.weak_keep_chars:
            marked.append(tag)
    return marked


def _disjoint(tag: HtmlElement, other: HtmlElement) -> bool:
    """Neither element holds the other."""
    inside = any(p is tag for p in other.iterancestors())
    return not inside and not any(p is other for p in tag.iterancestors())


def _visible_chars(tag: HtmlElement) -> int:
    """Characters of text without whitespace: indentation would otherwise weigh in."""
    return len("".join(_subtree_text(tag).split()))


def _link_chars(tag: HtmlElement) -> int:
    return sum(len(normalise_space(_text(a, " "))) for a in tag.iter("a"))


def _signature(tag: HtmlElement) -> str:
    """What repeated containers of one kind share: tag name and classes without digits."""
    names = _classes(tag) or [tag.get("id") or ""]
    return str(tag.tag) + "." + ".".join(sorted(_DIGITS_RE.sub("", n.lower()) for n in names))


@dataclass(slots=True)
class _Flow:
    """Inline text gathered for one block-level element."""

    element: HtmlElement
    ancestors: tuple[HtmlElement, ...]
    path: str
    kind: str
    level: int
    list_id: int | None
    # The texts in order, and those of them inside a link. A flow opens with a text that is
    # not whitespace alone: whitespace before a flow's first text never reaches a block (its
    # blank lines only split off empty segments, and normalise_space strips it), and most
    # flows would otherwise hold nothing but the indentation between two block elements.
    pieces: list[str]
    links: list[str]


# A walk frame: children left to visit, flow receiving their text, list depth, inside <a>,
# whether the frame owns the flow (flushes it when done), and the element's tail, which goes
# to the frame below once the subtree is done (its flow and link state are the tail's).
_Frame = tuple[Iterator[Any], _Flow, int, bool, bool, str | None]


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[CleanBlock] = []
        self.list_ids: dict[int, int] = {}
        # The list parents seen, held: a freed proxy's id could come back on another parent.
        self._list_parents: list[HtmlElement] = []

    def walk(self, root: HtmlElement) -> list[CleanBlock]:
        outer = [_path_part(p) for p in reversed(list(root.iterancestors()))]
        path = "/".join([*outer, _path_part(root)])
        flow = _Flow(root, (root,), path, "paragraph", 0, None, [], [])
        pieces, links = flow.pieces, flow.links
        text = root.text
        if text and not text.isspace():
            pieces.append(text)
        # An explicit stack, not recursion: real pages nest deeper than Python's recursion limit.
        # The current frame's fields are kept in locals; the stack holds the frames above it.
        # Each text goes to the current flow's pieces (and links, inside <a>) unless it is
        # whitespace opening the flow: the same test written out at each place, for speed.
        frame: _Frame = (iter(root), flow, 0, False, True, None)
        children, list_depth, in_link = frame[0], 0, False
        stack: list[_Frame] = []
        while True:
            child = next(children, None)
            if child is None:
                _, _, _, _, owns_flow, tail = frame
                if owns_flow and pieces:
                    self._flush(flow)
                if not stack:
                    break
                frame = stack.pop()
                children, flow, list_depth, in_link = frame[0], frame[1], frame[2], frame[3]
                pieces, links = flow.pieces, flow.links
                if tail and (pieces or not tail.isspace()):
                    pieces.append(tail)
                    if in_link:
                        links.append(tail)
                continue
            name = child.tag
            if not isinstance(name, str):  # an entity or other non-element node
                tail = child.tail
                if tail and (pieces or not tail.isspace()):
                    pieces.append(tail)
                    if in_link:
                        links.append(tail)
                continue
            if name not in BLOCK_TAGS and name != "br":
                # An inline element: its text goes to the current flow. Without children (most
                # links, spans, images) its tail follows at once, as its frame would have put it.
                text = child.text
                if text and (pieces or not text.isspace()):
                    pieces.append(text)
                    if in_link or name == "a":
                        links.append(text)
                if len(child):
                    stack.append(frame)
                    frame = (iter(child), flow, list_depth, in_link or name == "a", False, child.tail)
                    children, in_link = frame[0], frame[3]
                    continue
            elif name == "br":
                if pieces:  # a newline opening a flow is whitespace
                    pieces.append("\n")
            else:
                if pieces:
                    self._flush(flow)
                entered = self._enter_block(child, name, flow, list_depth, in_link)
                if entered is not None:
                    stack.append(frame)
                    frame = entered
                    children, flow, list_depth = frame[0], frame[1], frame[2]
                    pieces, links = flow.pieces, flow.links
                    continue
            tail = child.tail
            if tail and (pieces or not tail.isspace()):
                pieces.append(tail)
                if in_link:
                    links.append(tail)
        return self.blocks

    def _enter_block(
        self, tag: HtmlElement, name: str, flow: _Flow, list_depth: int, in_link: bool
    ) -> _Frame | None:
        """Handle one block-level element; return the frame for its children, if they are to be visited."""
        ancestors = (*flow.ancestors, tag)
        part = _PATH_PARTS.get((name, tag.get("class")))  # _path_part's cache, looked up here
        path = f"{flow.path}/{part if part is not None else _path_part(tag)}"
        if name == "table" and _is_data_table(tag):
            self._table(tag, ancestors, path)
            return None
        if name == "hr":
            return None
        kind, level, list_id = "paragraph", 0, None
        if name in HEADING_TAGS:
            kind, level = "heading", HEADING_TAGS[name]
        elif name == "li":
            parent = tag.getparent()
            key = id(parent) if parent is not None else id(tag)
            if key not in self.list_ids:
                self.list_ids[key] = len(self.list_ids)
                self._list_parents.append(parent if parent is not None else tag)
            kind, level, list_id = "list_item", max(1, list_depth), self.list_ids[key]
        elif name in KIND_BY_TAG:
            kind = KIND_BY_TAG[name]
        elif name not in LEAF_TAGS and flow.kind in ("list_item", "caption", "heading"):
            # A <div>/<span>-like block inside an item or caption still belongs to it.
            kind, level, list_id = flow.kind, flow.level, flow.list_id
        child_flow = _Flow(tag, ancestors, path, kind, level, list_id, [], [])
        text = tag.text
        if text and not text.isspace():
            child_flow.pieces.append(text)
            if in_link:
                child_flow.links.append(text)
        depth = list_depth + 1 if name in ("ul", "ol", "dl") else list_depth
        return (iter(tag), child_flow, depth, in_link, True, tag.tail)

    def _flush(self, flow: _Flow) -> None:
        pieces, links = flow.pieces, flow.links
        joined = pieces[0] if len(pieces) == 1 else "".join(pieces)
        pieces.clear()
        link_chars = 0
        if links:
            link_chars = sum([len(normalise_space(text)) for text in links])
            links.clear()
        if not joined or joined.isspace():  # what strip() would leave empty, without the copy
            return
        if "\n" in joined:  # a blank line (two newlines) splits the text into blocks
            segments = [normalise_space(s) for s in _DOUBLE_BREAK_RE.split(joined)]
            segments = [s for s in segments if s]
        else:
            segments = [segment] if (segment := normalise_space(joined)) else []
        total = sum(len(s) for s in segments) or 1
        kind, level, list_id, path, ancestors = flow.kind, flow.level, flow.list_id, flow.path, flow.ancestors
        for segment in segments:
            self.blocks.append(
                CleanBlock(
                    segment, kind, level, list_id, path, round(link_chars * len(segment) / total), ancestors
                )
            )

    def _table(self, table: HtmlElement, ancestors: tuple[HtmlElement, ...], path: str) -> None:
        rows: list[str] = []
        for row in table.iter("tr"):
            cells = [normalise_space(_text(c, " ")) for c in row.iter("td", "th")]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        link_chars = _link_chars(table)
        caption = next(table.iter("caption"), None)
        if caption is not None:
            text = normalise_space(_text(caption, " "))
            if text:
                self.blocks.append(
                    CleanBlock(text=text, kind="caption", path=f"{path}/caption", ancestors=ancestors)
                )
        if rows:
            self.blocks.append(
                CleanBlock(
                    text="\n".join(rows), kind="table", path=path, link_chars=link_chars, ancestors=ancestors
                )
            )


# (tag name, class attribute) -> path part: class values repeat across a page's elements.
_PATH_PARTS: dict[tuple[Any, str | None], str] = {}


def _path_part(tag: HtmlElement) -> str:
    key = (tag.tag, tag.get("class"))
    part = _PATH_PARTS.get(key)
    if part is None:
        classes = (key[1] or "").split()
        first = _DIGITS_RE.sub("", classes[0]).strip("-_") if classes else ""
        part = f"{tag.tag}.{first}" if first else str(tag.tag)
        if len(_PATH_PARTS) > 50_000:  # bound memory on long runs
            _PATH_PARTS.clear()
        _PATH_PARTS[key] = part
    return part


def _tag_path(tag: HtmlElement) -> str:
    """Tag names and first classes (digits removed) from the root down to ``tag``."""
    parts = [_path_part(p) for p in tag.iterancestors()]
    return "/".join([*reversed(parts), _path_part(tag)])


_TABLE_BLOCK_TAGS = ("div", "p", "ul", "ol", "h1", "h2", "h3", "h4", "article", "section")


def _name_path(tag: HtmlElement) -> str:
    return "/".join([*(str(p.tag) for p in reversed(list(tag.iterancestors()))), str(tag.tag)])


def _is_data_table(table: HtmlElement) -> bool:
    """A table of data rather than page layout: no nested tables or block-level structure."""
    if next(table.iterdescendants("table"), None) is not None:
        return False
    return next(table.iter(*_TABLE_BLOCK_TAGS), None) is None


def _container_chain(block: CleanBlock) -> tuple[HtmlElement, ...]:
    """The block's containers, nearest first (a <p> gives its score to what holds it)."""
    chain = block.ancestors
    if chain and chain[-1].tag in LEAF_TAGS:
        chain = chain[:-1]
    return tuple(reversed(chain))


_LIST_TAGS = frozenset({"ul", "ol", "dl", "li", "dd", "dt"})


def _lift_out_of_list(
    best: HtmlElement, chars: dict[int, int], links: dict[int, int], settings: MainContentSettings
) -> HtmlElement | None:
    """The block container around a best container that is a list (an answer's checklist
    scored above the answer holding it), unless that container is link-heavy."""
    if best.tag not in _LIST_TAGS:
        return None
    up = best.getparent()
    while up is not None and up.tag in _LIST_TAGS:
        up = up.getparent()
    if up is None or up.tag in ("body", "html") or id(up) not in chars:
        return None
    return up if links[id(up)] <= settings.max_link_share * chars[id(up)] else None


def _row_points(table_text: str, settings: MainContentSettings) -> float:
    points = 0.0
    for row in table_text.split("\n"):
        tokens = token_count(row)
        if tokens >= settings.min_block_tokens:
            points += 1.0 + min(tokens / settings.token_divisor, settings.max_length_points)
    return points


@dataclass(slots=True)
class _ContainerSums:
    """What the blocks directly inside one container add up to (see choose_main)."""

    chain: tuple[HtmlElement, ...]  # the container, then its ancestors
    chars: int = 0
    links: int = 0
    points: float = 0.0
    first_scored: int = -1  # index of its first block that scores


# How much of a group's points each container up its chain gets: the nearest all, the next
# half, then a third of that per level (1.0 / (level * 3)), for five levels.
_CHAIN_SHARES = (1.0, 0.5, *(1.0 / (level * 3) for level in range(2, 5)))


def choose_main(blocks: list[CleanBlock], rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    """Keep the blocks of the best-scoring container (lifted out of a list), its strong siblings,
    containers at its tag path, a wider container when these hold too little prose, the run
    of prose just before them, and the h1 title."""
    settings = rules.main
    scores: dict[int, float] = {}
    tags: dict[int, HtmlElement] = {}
    token_counts = [token_count(block.text) for block in blocks]
    min_tokens, divisor, max_length = (
        settings.min_block_tokens,
        settings.token_divisor,
        settings.max_length_points,
    )
    weight, max_punctuation = settings.punctuation_weight, settings.max_punctuation_points
    # Blocks are summed per nearest container first, then each container's sums go up its
    # chain once: far fewer dictionary updates than one per block and ancestor.
    groups: dict[int, _ContainerSums] = {}
    for index, block in enumerate(blocks):
        # The nearest container: ``_container_chain(block)[0]`` without building the chain.
        ancestors = block.ancestors
        if not ancestors:
            continue
        nearest = ancestors[-1]
        if nearest.tag in LEAF_TAGS:
            if len(ancestors) == 1:
                continue
            nearest = ancestors[-2]
        # Blocks with the same nearest container have the same chain: built once per group.
        group = groups.get(id(nearest))
        if group is None:
            group = groups[id(nearest)] = _ContainerSums(_container_chain(block))
        text = block.text
        group.chars += len(text)
        group.links += block.link_chars
        tokens = token_counts[index]
        if tokens < min_tokens or block.kind == "heading":
            continue
        points = 1.0 + min(tokens / divisor, max_length)
        points += min(punctuation_count(text) * weight, max_punctuation)
        if block.kind == "table":
            # A data table is one block but many units of text: it scores as its rows would
            # as blocks of their own, when that is more (long lists of laureates, products).
            points = max(points, _row_points(text, settings))
        group.points += points * (1.0 - min(1.0, block.link_chars / max(1, len(text))))
        if group.first_scored < 0:
            group.first_scored = index
    # Each group's sums count for its container and every ancestor. Chains share their upper
    # parts, so each container is visited once (its parent and depth noted) and the sums are
    # then passed up from the deepest containers: the same totals, without a walk per group.
    # Every container has sums, zero or not (plain dicts: a Counter's item access is slower).
    chars: dict[int, int] = {}
    links: dict[int, int] = {}
    parents: dict[int, int] = {}
    depths: dict[int, int] = {}
    for group in groups.values():
        chain = group.chain
        length = len(chain)
        for level, tag in enumerate(chain):
            key = id(tag)
            if key in depths:
                break  # seen from another group, and so are its ancestors
            depths[key] = length - level
            chars[key] = links[key] = 0
            if level + 1 < length:
                parents[key] = id(chain[level + 1])
        nearest_key = id(chain[0])
        chars[nearest_key] += group.chars
        links[nearest_key] += group.links
    for key in sorted(depths, key=depths.__getitem__, reverse=True):
        parent = parents.get(key)
        if parent is not None:
            chars[parent] += chars[key]
            links[parent] += links[key]
    # In document order of each container's first scored block: ties go to the first.
    for group in sorted((g for g in groups.values() if g.first_scored >= 0), key=lambda g: g.first_scored):
        points = group.points
        for tag, share in zip(group.chain, _CHAIN_SHARES, strict=False):  # the first five
            key = id(tag)
            if key not in scores:
                scores[key] = 0.0
                tags[key] = tag
            scores[key] += points * share
    if not scores:
        return blocks
    final: dict[int, float] = {}
    tag_bonus, element_flags = settings.tag_bonus, rules.element_flags
    for key, score in scores.items():
        tag = tags[key]
        density = links[key] / max(1, chars[key])
        bonus = tag_bonus.get(str(tag.tag), 0.0)
        get = tag.get
        boilerplate, _, content = element_flags(get("class"), get("id"), get("role"))
        if content:
            bonus += settings.content_attr_bonus
        if boilerplate:
            bonus -= settings.boilerplate_attr_penalty
        # The tag bonus only counts for containers that hold scored text themselves; a content
        # bonus shrinks with link density too (a "text" class on a cell holding a menu row).
        if bonus > 0:
            bonus *= 1.0 - density
        final[key] = score * (1.0 - density) + (bonus if score > 0 else 0.0)
    best_key = max(final, key=final.__getitem__)  # first maximum: dict order is document order
    best = tags[best_key]
    if final[best_key] < settings.min_best_score:
        return blocks
    lifted = _lift_out_of_list(best, chars, links, settings)
    if lifted is not None:
        # The block container holding the list takes the list's score (and its floors).
        final[id(lifted)] = max(final.get(id(lifted), 0.0), final[best_key])
        best, best_key = lifted, id(lifted)
        tags[best_key] = lifted
        counters["html_list_lifted"] += 1
    chosen = {best_key}
    best_parent = best.getparent()
    best_links = links[best_key] / max(1, chars[best_key])
    if best_parent is not None:
        for sibling in best_parent:
            key = id(sibling)
            if (
                key in final
                and key != best_key
                and final[key] >= settings.sibling_share * final[best_key]
                # A sibling much more link-heavy than the best container is a sidebar (on a
                # product listing, the best card is link-heavy too).
                and links[key] <= max(settings.max_link_share, best_links + 0.1) * chars[key]
            ):
                chosen.add(key)
    # Repeated structures (forum posts, listing entries, teaser blocks, column blocks) sit at
    # the same tag path as the best container: keep those that also read like content.
    best_path, best_part = _tag_path(best), _path_part(best)
    best_names, best_name = _name_path(best), best.tag
    floor = max(settings.min_best_score, settings.similar_path_share * final[best_key])
    loose_floor = max(settings.min_best_score, settings.sibling_share * final[best_key])
    for key, score in final.items():
        if key in chosen or score < floor or links[key] > settings.max_link_share * chars[key]:
            continue
        tag = tags[key]
        # Same tag path: a repeated structure. Same tag names only: likely a sibling section
        # styled differently, so it must score like a sibling.
        # Equal paths end in equal parts and tag names: those are compared first (cheaply).
        if (_path_part(tag) == best_part and _tag_path(tag) == best_path) or (
            score >= loose_floor and tag.tag == best_name and _name_path(tag) == best_names
        ):
            chosen.add(key)
            counters["html_similar_containers"] += 1
    kept_flags = [not chosen.isdisjoint(map(id, block.ancestors)) for block in blocks]
    wider = _widen_to_cover(blocks, token_counts, kept_flags, best, settings)
    if wider is not None:
        # What widening adds: its headings and text, not bare fragments (avatar initials,
        # "Follow", vote counts) between the sections.
        counters["html_widened_main"] += 1
        for index, block in enumerate(blocks):
            if kept_flags[index] or wider not in block.ancestors:  # elements compare by identity
                continue
            if block.kind == "heading" or token_counts[index] >= settings.widen_min_tokens:
                kept_flags[index] = True
    leading = _keep_leading_prose(blocks, token_counts, kept_flags, settings)
    if leading:  # no zero-valued counter keys: merged counters keep them only on some paths
        counters["html_leading_prose_kept"] += leading
    _keep_title_and_labels(blocks, kept_flags, best)
    counters["blocks_outside_main"] += kept_flags.count(False)
    return [block for block, kept in zip(blocks, kept_flags, strict=True) if kept]


def _widen_to_cover(
    blocks: list[CleanBlock],
    token_counts: list[int],
    kept: list[bool],
    best: HtmlElement,
    settings: MainContentSettings,
) -> HtmlElement | None:
    """A container to keep besides the chosen ones, when they hold too little of the prose.

    The nearest ``<article>`` around the best container, when the chosen containers hold
    under ``article_cover_share`` of its prose (an article split into nested sections); else
    the nearest ancestor holding ``cover_share`` of the page's prose, when the chosen ones
    hold less than that (service and product pages spread their text over many sections).
    Neither when it is link-heavy.
    """
    prose_flags = [
        block.kind != "heading"
        and tokens >= settings.prose_min_tokens
        and block.link_chars <= PROSE_MAX_LINK_SHARE * len(block.text)
        for block, tokens in zip(blocks, token_counts, strict=True)
    ]
    article = next((tag for tag in best.iterancestors("article")), None)
    page_prose = covered = article_prose = article_covered = 0
    for block, is_prose, in_chosen in zip(blocks, prose_flags, kept, strict=True):
        if not is_prose:
            continue
        size = len(block.text)
        page_prose += size
        covered += size if in_chosen else 0
        if article is not None and article in block.ancestors:
            article_prose += size
            article_covered += size if in_chosen else 0
    if article is not None and article_covered < settings.article_cover_share * article_prose:
        return article if _link_share(blocks, article) <= settings.max_link_share else None
    if not page_prose or covered >= settings.cover_share * page_prose:
        return None  # the usual case: the chosen containers hold the prose
    # Only the best container's ancestors (below <body>) can be the wider one.
    candidates = {id(tag): tag for tag in best.iterancestors() if tag.tag not in ("body", "html")}
    prose: Counter[int] = Counter()
    for block, is_prose in zip(blocks, prose_flags, strict=True):
        if is_prose:
            for tag in block.ancestors:
                if id(tag) in candidates:
                    prose[id(tag)] += len(block.text)
    for key, tag in candidates.items():  # nearest first
        if prose[key] >= settings.cover_share * page_prose:
            return tag if _link_share(blocks, tag) <= settings.max_link_share else None
    return None


def _link_share(blocks: list[CleanBlock], container: HtmlElement) -> float:
    """Share of link text in the blocks inside ``container``."""
    chars = links = 0
    for block in blocks:
        if container in block.ancestors:
            chars += len(block.text)
            links += block.link_chars
    return links / max(1, chars)


def _keep_leading_prose(
    blocks: list[CleanBlock], token_counts: list[int], kept: list[bool], settings: MainContentSettings
) -> int:
    """Keep the run of prose paragraphs just before the first kept block (an article body split
    over two containers: the opening paragraphs, then the rest), unless the kept content opens
    with the page title. One other block (a caption, an ad label) may interrupt the run; a heading
    ends it. Returns how many were added."""
    if not any(kept):
        return 0
    first = kept.index(True)
    if blocks[first].kind == "heading" and blocks[first].level == 1:
        return 0  # the content opens with the page title: what comes before it is site chrome
    added = interruptions = 0
    for index in range(first - 1, -1, -1):
        block = blocks[index]
        if (
            block.kind == "paragraph"
            and token_counts[index] >= settings.prose_min_tokens
            and block.link_chars <= PROSE_MAX_LINK_SHARE * len(block.text)
        ):
            kept[index] = True
            added += 1
            interruptions = 0
        elif block.kind != "heading" and interruptions < 1:
            interruptions += 1
        else:
            break
    return added


def _keep_title_and_labels(blocks: list[CleanBlock], kept: list[bool], best: HtmlElement) -> None:
    """Also keep the page's h1 before the content, and headings right before kept content."""
    if not any(kept):
        return
    first = kept.index(True)
    if not any(b.kind == "heading" and b.level == 1 for b, k in zip(blocks, kept, strict=True) if k):
        for index in range(first - 1, -1, -1):
            if blocks[index].kind == "heading" and blocks[index].level == 1:
                kept[index] = True
                break
    parent = best.getparent()
    index = first - 1
    # Section labels (e.g. <h2>Abstract</h2>) sitting just outside the chosen container.
    while index >= 0 and blocks[index].kind == "heading" and parent is not None:
        if parent in blocks[index].ancestors:
            kept[index] = True
        index -= 1


def _drop_link_lines(blocks: list[CleanBlock], rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    """Drop paragraphs, list items and tables that are mostly link text (teasers in an article).

    Only on prose pages: when such lines are a large share of the kept text and outweigh its
    prose, the page is a listing and they are its content.
    """
    settings = rules.main

    def linked(block: CleanBlock) -> bool:
        return block.link_chars >= settings.link_line_share * len(block.text)

    # A list goes whole or not at all: all its items links, of link-line length on average
    # (related-story titles), not a list of short linked keywords with one long one.
    items: dict[int, list[CleanBlock]] = {}
    for block in blocks:
        if block.kind == "list_item" and block.list_id is not None:
            items.setdefault(block.list_id, []).append(block)
    link_lists = {
        list_id
        for list_id, members in items.items()
        if all(linked(b) for b in members)
        and sum(len(b.text) for b in members) >= settings.link_line_min_chars * len(members)
    }
    flags = [
        block.list_id in link_lists
        if block.kind == "list_item"
        else block.kind in LINK_LINE_KINDS
        and len(block.text) >= settings.link_line_min_chars
        and linked(block)
        for block in blocks
    ]
    line_chars = sum(len(b.text) for b, flag in zip(blocks, flags, strict=True) if flag)
    if not line_chars:
        return blocks
    if line_chars > settings.link_line_max_page_share * sum(len(b.text) for b in blocks):
        # Many link lines: a listing, unless the kept prose still outweighs them (an article
        # followed by long link tables, as on old table-layout news pages).
        prose_chars = sum(
            len(b.text)
            for b in blocks
            if b.kind == "paragraph"
            and b.link_chars <= PROSE_MAX_LINK_SHARE * len(b.text)
            and token_count(b.text) >= settings.prose_min_tokens
        )
        if prose_chars < line_chars:
            return blocks
    counters["html_dropped_link_line"] += sum(flags)
    return [b for b, flag in zip(blocks, flags, strict=True) if not flag]


def _main_blocks(tree: HtmlElement, rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    blocks = _Walker().walk(_body(tree))
    counters["html_blocks_parsed"] += len(blocks)
    blocks = choose_main(blocks, rules, counters)
    return _drop_link_lines(blocks, rules, counters)


def parse_html(
    markup: str,
    rules: CleanRules,
    site: str | None = None,
    counters: Counter[str] | None = None,
    encoded: bytes | None = None,
) -> tuple[list[CleanBlock], dict[str, list[str]]]:
    """One parse: page metadata, then main-content blocks in document order.

    ``encoded``: ``markup.encode("utf-8")`` when the caller has it (see ``parse_tree``).
    """
    counters = counters if counters is not None else Counter()
    tree = parse_tree(markup, encoded)
    if tree is None:
        return [], {}
    page_meta = read_page_meta(tree, markup)
    page_chars = drop_non_content(tree, rules, site, counters)
    blocks = _main_blocks(tree, rules, counters)
    settings = rules.main
    if page_chars >= settings.fallback_min_chars and (
        sum(len(b.text) for b in blocks) < settings.fallback_share * page_chars
    ):
        # Almost nothing survived: the containers taken for chrome were the content (forum
        # posts in "comment" wrappers). Parse again and keep every marked container.
        counters["html_fallback_kept_containers"] += 1
        tree = parse_tree(markup, encoded)
        if tree is not None:
            drop_non_content(tree, rules, site, Counter(), containers=False)
            blocks = _main_blocks(tree, rules, Counter())
    for block in blocks:
        block.ancestors = ()  # release the tree
    return blocks, page_meta
