"""Earlier, plainer versions of clean-stage internals that were since made faster.

Only what changed is kept here; helpers the faster code still shares come from the stage.

Tests run both on varied pages and require the same results: the fast versions must not
change a single block (``test_clean_fastpaths``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from abstractpipe.clean.blocks import CleanBlock, normalise_space, punctuation_count, token_count
from abstractpipe.clean.html import (
    _DOUBLE_BREAK_RE,
    _HIDING_ATTRS,
    _MARKING_ATTRS,
    BLOCK_TAGS,
    HEADING_TAGS,
    KIND_BY_TAG,
    LEAF_TAGS,
    NEVER_DROP,
    HtmlElement,
    _attr_key,
    _body,
    _container_chain,
    _ContainerSums,
    _content_marked,
    _css_selector,
    _disjoint,
    _drop_link_lines,
    _Dropper,
    _hidden_prose,
    _holds_main,
    _inside,
    _is_data_table,
    _is_hidden,
    _keep_leading_prose,
    _keep_title_and_labels,
    _lift_out_of_list,
    _link_chars,
    _main_holders,
    _name_path,
    _path_part,
    _rescue_body_from_head,
    _row_points,
    _signature,
    _spaced_text,
    _subtree_text,
    _tag_path,
    _text,
    _visible_chars,
    _widen_to_cover,
    drop_tree,
    parse_tree,
    read_page_meta,
)
from abstractpipe.clean.rules import CleanRules


@dataclass(slots=True)
class _Flow:
    """Inline text gathered for one block-level element."""

    element: HtmlElement
    ancestors: tuple[HtmlElement, ...]
    path: str
    kind: str
    level: int = 0
    list_id: int | None = None
    pieces: list[tuple[str, bool]] = field(default_factory=list)  # (text, inside a link)


# A walk frame: children left to visit, flow receiving their text, list depth, inside <a>,
# whether the frame owns the flow (flushes it when done), and where the element's tail goes
# once its subtree is done (the parent's flow and link state, and the tail itself).
_Frame = tuple[Iterator[Any], _Flow, int, bool, bool, _Flow, bool, str | None]


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[CleanBlock] = []
        self.list_ids: dict[int, int] = {}
        # The list parents seen, held: a freed proxy's id could come back on another parent.
        self._list_parents: list[HtmlElement] = []

    def walk(self, root: HtmlElement) -> list[CleanBlock]:
        outer = [_path_part(p) for p in reversed(list(root.iterancestors()))]
        path = "/".join([*outer, _path_part(root)])
        flow = _Flow(element=root, ancestors=(root,), path=path, kind="paragraph")
        if root.text:
            flow.pieces.append((root.text, False))
        # An explicit stack, not recursion: real pages nest deeper than Python's recursion limit.
        # The current frame's fields are kept in locals; the stack holds the frames above it.
        frame: _Frame = (iter(root), flow, 0, False, True, flow, False, None)
        children, list_depth, in_link = frame[0], 0, False
        stack: list[_Frame] = []
        while True:
            child = next(children, None)
            if child is None:
                _, _, _, _, owns_flow, tail_flow, tail_in_link, tail = frame
                if owns_flow and flow.pieces:
                    self._flush(flow)
                if tail:
                    tail_flow.pieces.append((tail, tail_in_link))
                if not stack:
                    break
                frame = stack.pop()
                children, flow, list_depth, in_link = frame[0], frame[1], frame[2], frame[3]
                continue
            name = child.tag
            if not isinstance(name, str):  # an entity or other non-element node
                if child.tail:
                    flow.pieces.append((child.tail, in_link))
                continue
            if name not in BLOCK_TAGS and name != "br" and not len(child):
                # An inline element without children (most links, spans, images): its text and
                # tail go to the flow at once, as its frame would have put them.
                if child.text:
                    flow.pieces.append((child.text, in_link or name == "a"))
                if child.tail:
                    flow.pieces.append((child.tail, in_link))
                continue
            entered = self._enter(child, flow, list_depth, in_link)
            if entered is not None:
                stack.append(frame)
                frame = entered
                children, flow, list_depth, in_link = frame[0], frame[1], frame[2], frame[3]
            elif child.tail:
                flow.pieces.append((child.tail, in_link))
        return self.blocks

    def _enter(self, tag: HtmlElement, flow: _Flow, list_depth: int, in_link: bool) -> _Frame | None:
        """Handle one element; return the frame for its children, if they are to be visited."""
        name = tag.tag
        if name == "br":
            flow.pieces.append(("\n", in_link))
            return None
        if name not in BLOCK_TAGS:
            child_in_link = in_link or name == "a"
            if tag.text:
                flow.pieces.append((tag.text, child_in_link))
            return (iter(tag), flow, list_depth, child_in_link, False, flow, in_link, tag.tail)
        if flow.pieces:
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
            parent = tag.getparent()
            key = id(parent) if parent is not None else id(tag)
            if key not in self.list_ids:
                self.list_ids[key] = len(self.list_ids)
                self._list_parents.append(parent if parent is not None else tag)
            child_flow.kind, child_flow.level = "list_item", max(1, list_depth)
            child_flow.list_id = self.list_ids[key]
        elif name in KIND_BY_TAG:
            child_flow.kind = KIND_BY_TAG[name]
        elif name not in LEAF_TAGS and flow.kind in ("list_item", "caption", "heading"):
            # A <div>/<span>-like block inside an item or caption still belongs to it.
            child_flow.kind, child_flow.level, child_flow.list_id = flow.kind, flow.level, flow.list_id
        if tag.text:
            child_flow.pieces.append((tag.text, in_link))
        return (iter(tag), child_flow, depth, in_link, True, flow, in_link, tag.tail)

    def _flush(self, flow: _Flow) -> None:
        if not flow.pieces:
            return
        pieces, flow.pieces = flow.pieces, []
        joined = "".join([text for text, _ in pieces])
        if not joined or joined.isspace():  # what strip() would leave empty, without the copy
            return
        link_chars = sum([len(normalise_space(text)) for text, linked in pieces if linked])
        if "\n" in joined:  # a blank line (two newlines) splits the text into blocks
            segments = [normalise_space(s) for s in _DOUBLE_BREAK_RE.split(joined)]
            segments = [s for s in segments if s]
        else:
            segments = [segment] if (segment := normalise_space(joined)) else []
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


def _marked_elements(body: HtmlElement) -> tuple[list[HtmlElement], list[HtmlElement], list[HtmlElement]]:
    """In document order, one pass over ``body``: the elements below it with a marking
    attribute, those of them that are hidden, and the <article>, <main> and role=main ones
    (``body`` included). A Python pass reading attribute names beats an XPath predicate
    testing six attributes on every element by about 2x."""
    marked: list[HtmlElement] = []
    hidden: list[HtmlElement] = []
    main_like: list[HtmlElement] = [body] if body.tag in ("article", "main") else []
    elements = body.iter(etree.Element)
    next(elements)  # body itself
    for tag in elements:
        names = tag.keys()
        if names and not _MARKING_ATTRS.isdisjoint(names):
            marked.append(tag)
            if not _HIDING_ATTRS.isdisjoint(names) and _is_hidden(tag):
                hidden.append(tag)
            if tag.tag in ("article", "main") or tag.get("role") == "main":
                main_like.append(tag)
        elif tag.tag in ("article", "main"):
            main_like.append(tag)
    return marked, hidden, main_like


def _attached(tag: HtmlElement, root: HtmlElement) -> bool:
    """Still in the tree under ``root`` (not inside a subtree removed from it)."""
    return any(parent is root for parent in tag.iterancestors())


def drop_non_content(
    root: HtmlElement, rules: CleanRules, site: str | None, counters: Counter[str], containers: bool = True
) -> int:
    """Remove elements that cannot hold main content, in place; with ``containers`` False the
    containers whose class/id/role looks like boilerplate stay. Returns the page's visible
    characters before hidden and container drops."""
    _rescue_body_from_head(root, counters)
    for tag in list(root.iter(*rules.drop_tags)):  # tag names filtered in C
        if not _attached(tag, root):  # inside one dropped already (or the root itself)
            continue
        # An article's own <header> (title, authors, date) is content.
        if tag.tag == "header" and _inside(tag, {"article", "main"}):
            continue
        drop_tree(tag)
        counters["html_dropped_tag"] += 1
    # Small forms (search, login, subscribe) go; a form wrapping the page (ASP.NET) or a
    # post (forums) stays. Measured after the other drops, so inputs and scripts do not count.
    dropped = _Dropper()
    small_tags = list(root.iter(*rules.drop_small_tags)) if rules.drop_small_tags else []
    all_chars = -1  # the page's text before these drops, measured once a small tag needs it
    body_text: str | None = None  # the body's text while nothing has been dropped from it
    for tag in small_tags:
        if tag in dropped or _holds_main(tag):
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
            if tag not in dropped:
                dropped.drop(tag)
                counters["html_dropped_selector"] += 1
    body = _body(root)
    if body_text is not None and not dropped.gone:  # nothing dropped since it was read
        page_chars = len("".join(body_text.split())) or 1
    else:
        page_chars = _visible_chars(body) or 1
    candidates: list[tuple[HtmlElement, str, int]] = []
    candidate_ids: set[int] = set()
    # Only elements with these attributes can be hidden, marked or named as chrome.
    elements, hidden, main_like = _marked_elements(body)
    holders = _main_holders(main_like)
    hidden_ids = {id(tag) for tag in hidden}
    hidden_prose = _hidden_prose(hidden, body, page_chars, rules.protect_share) if hidden else set()
    for tag in elements:
        if tag in dropped or tag.tag in NEVER_DROP:
            continue
        if id(tag) in hidden_ids:
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
        if tag in dropped:
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


def choose_main(blocks: list[CleanBlock], rules: CleanRules, counters: Counter[str]) -> list[CleanBlock]:
    """Keep the blocks of the best-scoring container (lifted out of a list), its strong siblings,
    containers at its tag path, a wider container when these hold too little prose, the run
    of prose just before them, and the h1 title."""
    settings = rules.main
    scores: dict[int, float] = {}
    tags: dict[int, HtmlElement] = {}
    chars: Counter[int] = Counter()
    links: Counter[int] = Counter()
    token_counts = [token_count(block.text) for block in blocks]
    # Blocks are summed per nearest container first, then each container's sums go up its
    # chain once: far fewer dictionary updates than one per block and ancestor.
    groups: dict[int, _ContainerSums] = {}
    for index, (block, tokens) in enumerate(zip(blocks, token_counts, strict=True)):
        nearest = _nearest_container(block)
        if nearest is None:
            continue
        # Blocks with the same nearest container have the same chain: built once per group.
        group = groups.get(id(nearest))
        if group is None:
            group = groups[id(nearest)] = _ContainerSums(_container_chain(block))
        group.chars += len(block.text)
        group.links += block.link_chars
        if tokens < settings.min_block_tokens or block.kind == "heading":
            continue
        points = 1.0 + min(tokens / settings.token_divisor, settings.max_length_points)
        points += min(
            punctuation_count(block.text) * settings.punctuation_weight, settings.max_punctuation_points
        )
        if block.kind == "table":
            # A data table is one block but many units of text: it scores as its rows would
            # as blocks of their own, when that is more (long lists of laureates, products).
            points = max(points, _row_points(block.text, settings))
        group.points += points * (1.0 - min(1.0, block.link_chars / max(1, len(block.text))))
        if group.first_scored < 0:
            group.first_scored = index
    # Each group's sums count for its container and every ancestor. Chains share their upper
    # parts, so each container is visited once (its parent and depth noted) and the sums are
    # then passed up from the deepest containers: the same totals, without a walk per group.
    parents: dict[int, int] = {}
    depths: dict[int, int] = {}
    for group in groups.values():
        chain = group.chain
        chars[id(chain[0])] += group.chars
        links[id(chain[0])] += group.links
        for level, tag in enumerate(chain):
            key = id(tag)
            if key in depths:
                break  # seen from another group, and so are its ancestors
            depths[key] = len(chain) - level
            chars[key] += 0  # every container has sums, zero or not
            links[key] += 0
            if level + 1 < len(chain):
                parents[key] = id(chain[level + 1])
    for key in sorted(depths, key=depths.__getitem__, reverse=True):
        parent = parents.get(key)
        if parent is not None:
            chars[parent] += chars[key]
            links[parent] += links[key]
    # In document order of each container's first scored block: ties go to the first.
    for group in sorted((g for g in groups.values() if g.first_scored >= 0), key=lambda g: g.first_scored):
        for level, tag in enumerate(group.chain[:5]):
            share = 1.0 if level == 0 else 0.5 if level == 1 else 1.0 / (level * 3)
            if id(tag) not in scores:
                scores[id(tag)] = 0.0
                tags[id(tag)] = tag
            scores[id(tag)] += group.points * share
    if not scores:
        return blocks
    final: dict[int, float] = {}
    for key, score in scores.items():
        tag = tags[key]
        density = links[key] / max(1, chars[key])
        bonus = settings.tag_bonus.get(str(tag.tag), 0.0)
        get = tag.get
        boilerplate, _, content = rules.element_flags(get("class"), get("id"), get("role"))
        if content:
            bonus += settings.content_attr_bonus
        if boilerplate:
            bonus -= settings.boilerplate_attr_penalty
        # The tag bonus only counts for containers that hold scored text themselves; a content
        # bonus shrinks with link density too (a "text" class on a cell holding a menu row).
        if bonus > 0:
            bonus *= 1.0 - density
        final[key] = score * (1.0 - density) + (bonus if score > 0 else 0.0)
    best_key = max(final, key=lambda k: final[k])  # first maximum: dict order is document order
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
    best_path = _tag_path(best)
    best_names = _name_path(best)
    floor = max(settings.min_best_score, settings.similar_path_share * final[best_key])
    loose_floor = max(settings.min_best_score, settings.sibling_share * final[best_key])
    for key, score in final.items():
        if key in chosen or score < floor or links[key] > settings.max_link_share * chars[key]:
            continue
        tag = tags[key]
        # Same tag path: a repeated structure. Same tag names only: likely a sibling section
        # styled differently, so it must score like a sibling.
        if _tag_path(tag) == best_path or (score >= loose_floor and _name_path(tag) == best_names):
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


def _nearest_container(block: CleanBlock) -> HtmlElement | None:
    """``_container_chain(block)[0]`` without building the chain."""
    chain = block.ancestors
    if chain and chain[-1].tag in LEAF_TAGS:
        return chain[-2] if len(chain) > 1 else None
    return chain[-1] if chain else None


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
