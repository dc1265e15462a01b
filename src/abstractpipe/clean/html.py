"""HTML pages -> page metadata and main-content blocks (BeautifulSoup, lxml builder).

Steps, in order, on one parse: read ``page_meta``; drop non-content elements
(tags, hidden elements, site selectors, containers whose class/id/role looks
like boilerplate); walk the tree into blocks; keep the best-scoring content
container (plus the page's h1 title when it sits outside it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from bs4.element import CData

from abstractpipe.clean.blocks import CleanBlock, normalise_space, punctuation_count, token_count
from abstractpipe.clean.rules import CleanRules

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
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+")
_DOUBLE_BREAK_RE = re.compile(r"\n\s*\n")


_HTML_LANG_RE = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)


def read_page_meta(soup: BeautifulSoup, markup: str = "") -> dict[str, list[str]]:
    """``<meta>``, ``<title>``, JSON-LD, canonical link and ``<html lang>``, read before any drop."""
    meta: dict[str, list[str]] = {}

    def add(key: str, value: str | None) -> None:
        if value is None:
            return
        value = value.strip()
        if key and value:
            meta.setdefault(key.strip().lower(), []).append(value)

    html = soup.find("html")
    if isinstance(html, Tag):
        add("html_lang", _attr(html, "lang") or _attr(html, "xml:lang"))
    if "html_lang" not in meta and (match := _HTML_LANG_RE.search(markup[:20000])):
        # lxml drops the attributes of an <html> that comes after other markup (a leading <script>).
        add("html_lang", match[1])
    title = soup.find("title")
    if isinstance(title, Tag):
        add("title", normalise_space(title.get_text()))
    for tag in soup.find_all("meta"):
        key = _attr(tag, "name") or _attr(tag, "property")
        if key:
            add(key, _attr(tag, "content"))
    for tag in soup.find_all("link"):
        rel = tag.get("rel") or []
        rels = rel if isinstance(rel, list) else str(rel).split()
        if "canonical" in [r.lower() for r in rels]:
            add("canonical", _attr(tag, "href"))
    for tag in soup.find_all("script"):
        if (_attr(tag, "type") or "").strip().lower() == "application/ld+json":
            add("jsonld", tag.get_text())
    return meta


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return " ".join(value) if isinstance(value, list) else str(value)


def _attr_tokens(tag: Tag) -> list[str]:
    tokens: list[str] = []
    classes = tag.get("class") or []
    tokens.extend(c.lower() for c in (classes if isinstance(classes, list) else str(classes).split()))
    for name in ("id", "role"):
        value = _attr(tag, name)
        if value:
            tokens.extend(value.lower().split())
    return tokens


def _is_decomposed(tag: Tag) -> bool:
    # Not ``tag.decomposed``: on a live tag bs4 resolves the missing attribute through
    # ``Tag.__getattr__``, i.e. a search of the whole subtree.
    return bool(tag.__dict__.get("_decomposed", False))


def _inside(tag: Tag, names: frozenset[str] | set[str]) -> bool:
    return any(parent.name in names for parent in tag.parents)


def _elements(root: Tag) -> list[Tag]:
    return [node for node in root.descendants if isinstance(node, Tag)]


def _main_holders(elements: list[Tag]) -> set[int]:
    """Ids of the elements that hold an <article>, <main> or role=main element."""
    holders: set[int] = set()
    for tag in elements:
        if tag.name in ("article", "main") or _attr(tag, "role") == "main":
            for parent in tag.parents:
                if id(parent) in holders:
                    break
                holders.add(id(parent))
    return holders


def _rescue_body_from_head(soup: BeautifulSoup, counters: Counter[str]) -> None:
    """Move a ``<body>`` that lxml nested inside ``<head>`` back under ``<html>``.

    An unknown element in ``<head>`` (a CMS include tag) makes lxml keep the rest of the
    page inside it, so dropping ``<head>`` would drop the whole page.
    """
    head = soup.head
    if head is None:
        return
    body = head.find("body")
    if isinstance(body, Tag):
        html = head.parent if isinstance(head.parent, Tag) else soup
        html.append(body.extract())
        counters["html_body_moved_out_of_head"] += 1


def drop_non_content(
    soup: BeautifulSoup, rules: CleanRules, site: str | None, counters: Counter[str]
) -> None:
    """Remove elements that cannot hold main content, in place."""
    _rescue_body_from_head(soup, counters)
    # One list of elements, filtered by name here: bs4's find_all is slow on large pages.
    elements = _elements(soup)
    for tag in elements:
        if tag.name not in rules.drop_tags or _is_decomposed(tag):
            continue
        # An article's own <header> (title, authors, date) is content.
        if tag.name == "header" and _inside(tag, {"article", "main"}):
            continue
        tag.decompose()
        counters["html_dropped_tag"] += 1
    # Small forms (search, login, subscribe) go; a form wrapping the page (ASP.NET) or a
    # post (forums) stays. Measured after the other drops, so inputs and scripts do not count.
    elements = [tag for tag in elements if not _is_decomposed(tag)]
    holders = _main_holders(elements)
    small_tags = [tag for tag in elements if tag.name in rules.drop_small_tags]
    all_chars = len(normalise_space((soup.body or soup).get_text(" "))) if small_tags else 0
    for tag in small_tags:
        if _is_decomposed(tag) or id(tag) in holders:
            continue
        chars = len(normalise_space(tag.get_text(" ")))
        if chars >= rules.small_tag_max_chars or chars > rules.protect_share * all_chars:
            continue
        tag.decompose()
        counters["html_dropped_small_tag"] += 1
    for selector in rules.selectors_for(site):
        for tag in soup.select(selector):
            if not _is_decomposed(tag):
                tag.decompose()
                counters["html_dropped_selector"] += 1
    body = soup.body or soup
    page_chars = len(body.get_text()) or 1
    candidates: list[tuple[Tag, str, int]] = []
    candidate_ids: set[int] = set()
    elements = [tag for tag in elements if not _is_decomposed(tag)]
    holders = _main_holders(elements)
    for tag in elements:
        if _is_decomposed(tag) or tag.name in NEVER_DROP:
            continue
        style = _attr(tag, "style")
        if (
            tag.has_attr("hidden")
            or (_attr(tag, "aria-hidden") or "").lower() == "true"
            or (style and _HIDDEN_STYLE_RE.search(style))
        ):
            tag.decompose()
            counters["html_dropped_hidden"] += 1
            continue
        tokens = _attr_tokens(tag)
        if not tokens or not any(rules.boilerplate_attr.search(t) for t in tokens):
            continue
        if id(tag) in holders:
            continue
        if not any(rules.boilerplate_attr.search(t) for t in tokens if not rules.weak_attr.search(t)):
            # Only weak tokens ("widget"): Blogger and page builders put posts in widgets.
            # Keep it when it reads like prose: enough text, few links.
            text_chars = len(normalise_space(tag.get_text(" ")))
            if text_chars >= rules.weak_keep_chars and _link_chars(tag) <= 0.3 * text_chars:
                counters["html_protected_container"] += 1
                continue
        nested = any(id(parent) in candidate_ids for parent in tag.parents)
        candidate_ids.add(id(tag))
        candidates.append((tag, "" if nested else _signature(tag), len(tag.get_text())))
    # Repeated containers of one kind (forum posts marked "comment") that together hold most
    # of the page are its content, not chrome. Not so for the items of one marked container
    # (the slides of a promo carousel): those do not form a group.
    group_chars: Counter[str] = Counter()
    for _, signature, chars in candidates:
        group_chars[signature] += chars
    for tag, signature, chars in candidates:
        if _is_decomposed(tag):
            continue
        grouped = group_chars[signature] if signature else 0
        if max(chars, grouped) > rules.protect_share * page_chars:
            counters["html_protected_container"] += 1
            continue
        tag.decompose()
        counters["html_dropped_container"] += 1


def _link_chars(tag: Tag) -> int:
    return sum(len(normalise_space(a.get_text(" "))) for a in tag.find_all("a"))


def _signature(tag: Tag) -> str:
    """What repeated containers of one kind share: tag name and classes without digits."""
    classes = tag.get("class") or []
    names = classes if isinstance(classes, list) else str(classes).split()
    if not names:
        names = [_attr(tag, "id") or ""]
    return tag.name + "." + ".".join(sorted(_DIGITS_RE.sub("", n.lower()) for n in names))


@dataclass
class _Flow:
    """Inline text gathered for one block-level element."""

    element: Tag
    ancestors: tuple[Tag, ...]
    path: str
    kind: str
    level: int = 0
    list_id: int | None = None
    pieces: list[tuple[str, bool]] = field(default_factory=list)  # (text, inside a link)


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[CleanBlock] = []
        self.list_ids: dict[int, int] = {}

    def walk(self, root: Tag) -> list[CleanBlock]:
        outer = [
            _path_part(p)
            for p in reversed(list(root.parents))
            if isinstance(p, Tag) and p.name != "[document]"
        ]
        path = "/".join([*outer, _path_part(root)])
        flow = _Flow(element=root, ancestors=(root,), path=path, kind="paragraph")
        # An explicit stack, not recursion: real pages nest deeper than Python's recursion limit.
        # A frame: (children left to visit, flow receiving their text, list depth, inside <a>,
        # whether the frame owns the flow and flushes it when done).
        stack: list[tuple[Iterator[Any], _Flow, int, bool, bool]] = [
            (iter(root.children), flow, 0, False, True)
        ]
        while stack:
            children, flow, list_depth, in_link, owns_flow = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if owns_flow:
                    self._flush(flow)
            elif isinstance(child, NavigableString):
                if not isinstance(child, _SKIPPED_STRINGS):
                    flow.pieces.append((str(child), in_link))
            elif isinstance(child, Tag):
                frame = self._enter(child, flow, list_depth, in_link)
                if frame is not None:
                    stack.append(frame)
        return self.blocks

    def _enter(
        self, tag: Tag, flow: _Flow, list_depth: int, in_link: bool
    ) -> tuple[Iterator[Any], _Flow, int, bool, bool] | None:
        """Handle one element; return the frame for its children, if they are to be visited."""
        name = tag.name
        if name == "br":
            flow.pieces.append(("\n", in_link))
            return None
        if name not in BLOCK_TAGS:
            return (iter(tag.children), flow, list_depth, in_link or name == "a", False)
        self._flush(flow)
        ancestors = (*flow.ancestors, tag)
        path = f"{flow.path}/{_path_part(tag)}"
        if name == "table" and _is_data_table(tag):
            self._table(tag, ancestors, path)
            return None
        if name == "hr":
            return None
        depth = list_depth + (1 if name in ("ul", "ol", "dl") else 0)
        child_flow = _Flow(element=tag, ancestors=ancestors, path=path, kind="paragraph")
        if name in HEADING_TAGS:
            child_flow.kind, child_flow.level = "heading", HEADING_TAGS[name]
        elif name == "li":
            parent = tag.parent
            key = id(parent) if parent is not None else id(tag)
            if key not in self.list_ids:
                self.list_ids[key] = len(self.list_ids)
            child_flow.kind, child_flow.level = "list_item", max(1, list_depth)
            child_flow.list_id = self.list_ids[key]
        elif name in KIND_BY_TAG:
            child_flow.kind = KIND_BY_TAG[name]
        elif name not in LEAF_TAGS and flow.kind in ("list_item", "caption", "heading"):
            # A <div>/<span>-like block inside an item or caption still belongs to it.
            child_flow.kind, child_flow.level, child_flow.list_id = flow.kind, flow.level, flow.list_id
        return (iter(tag.children), child_flow, depth, in_link or name == "a", True)

    def _flush(self, flow: _Flow) -> None:
        if not flow.pieces:
            return
        pieces, flow.pieces = flow.pieces, []
        joined = "".join(text for text, _ in pieces)
        if not joined.strip():
            return
        link_chars = sum(len(normalise_space(text)) for text, linked in pieces if linked)
        segments = [normalise_space(s) for s in _DOUBLE_BREAK_RE.split(joined)]
        segments = [s for s in segments if s]
        total = sum(len(s) for s in segments) or 1
        for segment in segments:
            self.blocks.append(
                CleanBlock(
                    text=segment,
                    kind=flow.kind,
                    level=flow.level,
                    list_id=flow.list_id,
                    path=flow.path,
                    link_chars=round(link_chars * len(segment) / total),
                    ancestors=flow.ancestors,
                )
            )

    def _table(self, table: Tag, ancestors: tuple[Tag, ...], path: str) -> None:
        rows: list[str] = []
        link_chars = 0
        for row in table.find_all("tr"):
            cells = [normalise_space(c.get_text(" ")) for c in row.find_all(["td", "th"])]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        for link in table.find_all("a"):
            link_chars += len(normalise_space(link.get_text(" ")))
        caption = table.find("caption")
        if isinstance(caption, Tag):
            text = normalise_space(caption.get_text(" "))
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


def _path_part(tag: Tag) -> str:
    classes = tag.get("class") or []
    first = classes[0] if isinstance(classes, list) and classes else ""
    first = _DIGITS_RE.sub("", str(first)).strip("-_")
    return f"{tag.name}.{first}" if first else str(tag.name)


def _tag_path(tag: Tag) -> str:
    """Tag names and first classes (digits removed) from the root down to ``tag``."""
    parts = [_path_part(p) for p in tag.parents if isinstance(p, Tag) and p.name != "[document]"]
    return "/".join([*reversed(parts), _path_part(tag)])


def _is_data_table(table: Tag) -> bool:
    """A table of data rather than page layout: no nested tables or block-level structure."""
    if table.find("table") is not None:
        return False
    return table.find(["div", "p", "ul", "ol", "h1", "h2", "h3", "h4", "article", "section"]) is None


def _container_chain(block: CleanBlock) -> tuple[Tag, ...]:
    """The block's containers, nearest first (a <p> gives its score to what holds it)."""
    chain = block.ancestors
    if chain and chain[-1].name in LEAF_TAGS:
        chain = chain[:-1]
    return tuple(reversed(chain))


def choose_main(blocks: list[CleanBlock], rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    """Keep the blocks of the best-scoring container (and its strong siblings, and the h1 title)."""
    settings = rules.main
    scores: dict[int, float] = {}
    tags: dict[int, Tag] = {}
    chars: Counter[int] = Counter()
    links: Counter[int] = Counter()
    for block in blocks:
        chain = _container_chain(block)
        for tag in chain:
            chars[id(tag)] += len(block.text)
            links[id(tag)] += block.link_chars
        tokens = token_count(block.text)
        if tokens < settings.min_block_tokens or block.kind == "heading":
            continue
        points = 1.0 + min(tokens / settings.token_divisor, settings.max_length_points)
        points += min(
            punctuation_count(block.text) * settings.punctuation_weight, settings.max_punctuation_points
        )
        points *= 1.0 - min(1.0, block.link_chars / max(1, len(block.text)))
        for level, tag in enumerate(chain[:5]):
            share = 1.0 if level == 0 else 0.5 if level == 1 else 1.0 / (level * 3)
            if id(tag) not in scores:
                scores[id(tag)] = 0.0
                tags[id(tag)] = tag
            scores[id(tag)] += points * share
    if not scores:
        return blocks
    final: dict[int, float] = {}
    for key, score in scores.items():
        tag = tags[key]
        density = links[key] / max(1, chars[key])
        bonus = settings.tag_bonus.get(str(tag.name), 0.0)
        tokens = _attr_tokens(tag)
        if any(rules.content_attr.search(t) for t in tokens):
            bonus += settings.content_attr_bonus
        if any(rules.boilerplate_attr.search(t) for t in tokens):
            bonus -= settings.boilerplate_attr_penalty
        # The tag bonus only counts for containers that hold scored text themselves.
        final[key] = score * (1.0 - density) + (bonus if score > 0 else 0.0)
    best_key = max(final, key=lambda k: final[k])  # first maximum: dict order is document order
    best = tags[best_key]
    if final[best_key] < settings.min_best_score:
        return blocks
    chosen = {best_key}
    if best.parent is not None:
        for sibling in best.parent.find_all(True, recursive=False):
            key = id(sibling)
            if key in final and key != best_key and final[key] >= settings.sibling_share * final[best_key]:
                chosen.add(key)
    # Repeated structures (forum posts, listing entries, teaser blocks, column blocks) sit at
    # the same tag path as the best container: keep those that also read like content.
    best_path = _tag_path(best)
    floor = max(settings.min_best_score, settings.similar_path_share * final[best_key])
    for key, score in final.items():
        if key in chosen or score < floor:
            continue
        if links[key] > 0.5 * chars[key] or _tag_path(tags[key]) != best_path:
            continue
        chosen.add(key)
        counters["html_similar_containers"] += 1
    kept_flags = [any(id(tag) in chosen for tag in block.ancestors) for block in blocks]
    _keep_title_and_labels(blocks, kept_flags, best)
    counters["blocks_outside_main"] += kept_flags.count(False)
    return [block for block, kept in zip(blocks, kept_flags, strict=True) if kept]


def _keep_title_and_labels(blocks: list[CleanBlock], kept: list[bool], best: Tag) -> None:
    """Also keep the page's h1 before the content, and headings right before kept content."""
    if not any(kept):
        return
    first = kept.index(True)
    if not any(b.kind == "heading" and b.level == 1 for b, k in zip(blocks, kept, strict=True) if k):
        for index in range(first - 1, -1, -1):
            if blocks[index].kind == "heading" and blocks[index].level == 1:
                kept[index] = True
                break
    parent = best.parent
    index = first - 1
    # Section labels (e.g. <h2>Abstract</h2>) sitting just outside the chosen container.
    while index >= 0 and blocks[index].kind == "heading" and parent is not None:
        if any(tag is parent for tag in blocks[index].ancestors):
            kept[index] = True
        index -= 1


def _drop_link_lines(blocks: list[CleanBlock], rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    """Drop paragraphs that are mostly link text (teaser titles inside an article).

    Only on prose pages: when such lines are a large share of the kept text, the page is a
    listing and they are its content.
    """
    settings = rules.main
    flags = [
        block.kind == "paragraph"
        and len(block.text) >= settings.link_line_min_chars
        and block.link_chars >= settings.link_line_share * len(block.text)
        for block in blocks
    ]
    line_chars = sum(len(b.text) for b, flag in zip(blocks, flags, strict=True) if flag)
    if not line_chars or line_chars > settings.link_line_max_page_share * sum(len(b.text) for b in blocks):
        return blocks
    counters["html_dropped_link_line"] += sum(flags)
    return [b for b, flag in zip(blocks, flags, strict=True) if not flag]


def parse_html(
    markup: str, rules: CleanRules, site: str | None = None, counters: Counter[str] | None = None
) -> tuple[list[CleanBlock], dict[str, list[str]]]:
    """One parse: page metadata, then main-content blocks in document order."""
    counters = counters if counters is not None else Counter()
    soup = BeautifulSoup(markup, "lxml")
    page_meta = read_page_meta(soup, markup)
    drop_non_content(soup, rules, site, counters)
    root: Any = soup.body or soup.find("html") or soup
    blocks = _Walker().walk(root)
    counters["html_blocks_parsed"] += len(blocks)
    blocks = choose_main(blocks, rules, counters)
    blocks = _drop_link_lines(blocks, rules, counters)
    for block in blocks:
        block.ancestors = ()  # release the tree
    return blocks, page_meta
