"""Boilerplate rules from ``configs/clean.yaml``, compiled once, applied to block lists.

See the comment block at the top of ``configs/clean.yaml`` for the file format.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from abstractpipe.clean.blocks import CleanBlock
from abstractpipe.config import ConfigError

RULE_TYPES = ("block", "section", "list", "run")
# A paragraph with at least this share of link text is one entry of a link list.
LINK_ENTRY_SHARE = 0.8


@dataclass(frozen=True)
class Rule:
    name: str
    type: str
    pattern: re.Pattern[str] | None = None
    max_chars: int | None = None
    kinds: frozenset[str] = frozenset()
    first_item: re.Pattern[str] | None = None
    item_pattern: re.Pattern[str] | None = None
    min_share: float = 1.0
    min_run: int = 2
    needs: tuple[str, ...] = ()  # lower-case; a text must contain one to be tried (fast test)

    def matches(self, block: CleanBlock) -> bool:
        if self.pattern is None:
            return False
        if self.max_chars is not None and len(block.text) > self.max_chars:
            return False
        if self.kinds and block.kind not in self.kinds:
            return False
        if self.needs and not self.may_match(block.text.lower()):
            return False
        return bool(self.pattern.search(block.text))

    def match_flags(self, blocks: list[CleanBlock]) -> list[bool]:
        """``matches`` for every block, in one loop (a method call per block cost more)."""
        if self.pattern is None:
            return [False] * len(blocks)
        search, kinds = self.pattern.search, self.kinds
        max_chars = self.max_chars if self.max_chars is not None else sys.maxsize
        needs = self.needs_re.search if self.needs_re is not None else None
        return [
            len(block.text) <= max_chars
            and (not kinds or block.kind in kinds)
            and (needs is None or needs(block.text.lower()) is not None)
            and search(block.text) is not None
            for block in blocks
        ]

    def may_match(self, lowered: str) -> bool:
        """False when the lower-cased text holds none of ``needs`` (the pattern cannot match)."""
        return self.needs_re is None or self.needs_re.search(lowered) is not None

    @functools.cached_property
    def needs_re(self) -> re.Pattern[str] | None:
        # One C-level search for all the literals (a generator over them costs more).
        return re.compile("|".join(map(re.escape, self.needs))) if self.needs else None


@dataclass(frozen=True)
class MainContentSettings:
    min_block_tokens: int = 6
    token_divisor: float = 12.0
    max_length_points: float = 8.0
    punctuation_weight: float = 1.0
    max_punctuation_points: float = 10.0
    content_attr_bonus: float = 20.0
    boilerplate_attr_penalty: float = 25.0
    tag_bonus: dict[str, float] = field(default_factory=dict)
    sibling_share: float = 0.25
    similar_path_share: float = 0.1
    max_link_share: float = 0.5
    link_line_share: float = 0.8
    link_line_min_chars: int = 30
    link_line_max_page_share: float = 0.2
    min_best_score: float = 5.0
    cover_share: float = 0.5
    article_cover_share: float = 0.7
    prose_min_tokens: int = 8
    widen_min_tokens: int = 3
    fallback_share: float = 0.04
    fallback_min_chars: int = 1000


@dataclass(frozen=True)
class TextSettings:
    heading_max_chars: int = 80
    heading_max_words: int = 10
    heading_max_cjk_chars: int = 30
    wrap_min_chars: int = 60


@dataclass(frozen=True)
class RepetitionSettings:
    min_pages: int = 3
    min_count: int = 2
    min_share: float = 0.5


@dataclass(frozen=True)
class SiteRules:
    rules: tuple[Rule, ...] = ()
    drop_selectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenPattern:
    """Whether the ``_attr_regex`` pattern of the same alternatives finds a match in a token, in
    two calls that try fewer positions. That pattern opens with ``(?:^|[-_])``, so the regex
    engine tries it at every position of the token; ``head`` is tried at the start only and
    ``tail`` opens with ``[-_]``, which the engine scans for in C (the regex searches were most
    of the cost of a page's first class names)."""

    head: re.Pattern[str]  # the alternatives at the start, or the whole token
    tail: re.Pattern[str]  # the alternatives after a "-" or "_"

    def found_in(self, token: str) -> bool:
        return self.head.match(token) is not None or self.tail.search(token) is not None


@dataclass(frozen=True)
class CleanRules:
    """Everything the cleaner reads from its rule file, compiled."""

    drop_tags: frozenset[str]
    drop_small_tags: frozenset[str]
    small_tag_max_chars: int
    boilerplate_attr: re.Pattern[str]
    # What a class/id token is: (boilerplate, weak, content) alternatives, each a TokenPattern.
    token_patterns: tuple[TokenPattern, TokenPattern, TokenPattern]
    weak_keep_chars: int
    protect_share: float
    main: MainContentSettings
    text: TextSettings
    repetition: RepetitionSettings
    rules: tuple[Rule, ...]
    sites: dict[str, SiteRules]
    # class/id/role value -> attr_flags result, and one token -> its flags: values repeat
    # within a site, tokens ("row", "container", "post") across sites too.
    _attr_cache: dict[str, tuple[bool, bool, bool]] = field(default_factory=dict, compare=False, repr=False)
    _token_cache: dict[str, tuple[bool, bool, bool]] = field(default_factory=dict, compare=False, repr=False)
    _element_cache: dict[tuple[str | None, str | None, str | None], tuple[bool, bool, bool]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _site_rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict, compare=False, repr=False)

    def element_flags(
        self, css_class: str | None, ident: str | None, role: str | None
    ) -> tuple[bool, bool, bool]:
        """``attr_flags`` of an element's class, id and role values joined by spaces (all False
        when they are all empty), cached by the values: no string is built for a known element."""
        key = (css_class, ident, role)
        flags = self._element_cache.get(key)
        if flags is None:
            joined = f"{css_class or ''} {ident or ''} {role or ''}".strip()
            flags = self.attr_flags(joined) if joined else (False, False, False)
            if len(self._element_cache) > 100_000:  # bound memory on long runs
                self._element_cache.clear()
            self._element_cache[key] = flags
        return flags

    def attr_flags(self, key: str) -> tuple[bool, bool, bool]:
        """For space-separated class/id/role tokens: (boilerplate, boilerplate beyond weak tokens, content)."""
        flags = self._attr_cache.get(key)
        if flags is None:
            boilerplate = strong = content = False
            known = self._token_cache  # looked up here: most tokens are known, a call costs more
            for token in key.lower().split():
                token_flags = known.get(token)
                if token_flags is None:
                    token_flags = self._token_flags(token)
                is_boilerplate, is_strong, is_content = token_flags
                boilerplate |= is_boilerplate
                strong |= is_strong
                content |= is_content
            flags = (boilerplate, strong, content)
            if len(self._attr_cache) > 100_000:  # bound memory on long runs
                self._attr_cache.clear()
            self._attr_cache[key] = flags
        return flags

    def _token_flags(self, token: str) -> tuple[bool, bool, bool]:
        flags = self._token_cache.get(token)
        if flags is None:
            boilerplate_in, weak_in, content_in = self.token_patterns
            boilerplate = boilerplate_in.found_in(token)
            flags = (boilerplate, boilerplate and not weak_in.found_in(token), content_in.found_in(token))
            if len(self._token_cache) > 100_000:
                self._token_cache.clear()
            self._token_cache[token] = flags
        return flags

    def names_boilerplate(self, key: str) -> bool:
        """A class/id/role token is a boilerplate word as a whole ("comments", not "with-sidebar")."""
        return any(self.boilerplate_attr.fullmatch(t) for t in key.lower().split())

    @classmethod
    def from_file(cls, path: str | Path) -> CleanRules:
        return compile_rules(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})

    def rules_for(self, site: str | None) -> tuple[Rule, ...]:
        extra = self.sites.get(site) if site else None
        if not extra:
            return self.rules
        # The same tuple for every page of the site: rule_drops keeps its plan per rule list.
        combined = self._site_rules.get(site)  # type: ignore[arg-type]
        if combined is None:
            combined = self._site_rules[site] = self.rules + extra.rules  # type: ignore[index]
        return combined

    def selectors_for(self, site: str | None) -> tuple[str, ...]:
        extra = self.sites.get(site) if site else None
        return extra.drop_selectors if extra else ()

    def heading_like(self, text: str) -> bool:
        from abstractpipe.clean.blocks import is_heading_like

        t = self.text
        return is_heading_like(text, t.heading_max_chars, t.heading_max_words, t.heading_max_cjk_chars)


def _regex(source: Any, where: str, case_sensitive: bool = False) -> re.Pattern[str]:
    if not isinstance(source, str) or not source:
        raise ConfigError(f"clean rules: {where} must be a non-empty regex string")
    try:
        return re.compile(source, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"clean rules: {where} is not a valid regex: {exc}") from exc


def _attr_regex(alternatives: list[str], where: str, whole: list[str] | None = None) -> re.Pattern[str]:
    """A class/id token matches when one of its "-"/"_"-separated parts is one of
    ``alternatives``, or when the whole token is one of ``whole``."""
    branches = []
    if alternatives:
        body = "|".join(f"(?:{a})" for a in alternatives)
        branches.append(rf"(?:^|[-_])(?:{body})(?:$|[-_])")
    if whole:
        branches.append("^(?:" + "|".join(f"(?:{a})" for a in whole) + ")$")
    if not branches:
        return re.compile(r"(?!)")  # matches nothing
    return _regex("|".join(branches), where)


def _attr_token_pattern(alternatives: list[str], where: str, whole: list[str] | None = None) -> TokenPattern:
    """``_attr_regex(alternatives, where, whole)`` as a TokenPattern. Its first branch is tried at
    the start by ``head`` ("^") and after each "-"/"_" by ``tail``; its second ("^...$") by
    ``head``. The groups keep their numbers (the first branch's come first in both)."""
    nothing = r"(?!)"
    heads = []
    tail = nothing
    if alternatives:
        body = "|".join(f"(?:{a})" for a in alternatives)
        heads.append(rf"(?:{body})(?:$|[-_])")
        tail = rf"[-_](?:{body})(?:$|[-_])"
    if whole:
        heads.append("(?:" + "|".join(f"(?:{a})" for a in whole) + ")$")
    return TokenPattern(_regex("|".join(heads) or nothing, where), _regex(tail, where))


def _compile_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ConfigError(f"clean rules: {where} must be a mapping with a name")
    name = str(raw["name"])
    kind = raw.get("type", "block")
    if kind not in RULE_TYPES:
        raise ConfigError(f"clean rules: rule {name!r} has unknown type {kind!r} (known: {RULE_TYPES})")
    case = bool(raw.get("case_sensitive", False))
    here = f"rule {name!r}"
    pattern = _regex(raw["pattern"], f"{here} pattern", case) if "pattern" in raw else None
    first_item = _regex(raw["first_item"], f"{here} first_item", case) if "first_item" in raw else None
    item_pattern = (
        _regex(raw["item_pattern"], f"{here} item_pattern", case) if "item_pattern" in raw else None
    )
    if kind in ("block", "section", "run") and pattern is None:
        raise ConfigError(f"clean rules: {here} of type {kind} needs a pattern")
    if kind == "list" and first_item is None and item_pattern is None:
        raise ConfigError(f"clean rules: {here} of type list needs first_item or item_pattern")
    return Rule(
        name=name,
        type=kind,
        pattern=pattern,
        max_chars=raw.get("max_chars"),
        kinds=frozenset(raw.get("kinds") or ()),
        first_item=first_item,
        item_pattern=item_pattern,
        min_share=float(raw.get("min_share", 1.0)),
        min_run=int(raw.get("min_run", 2)),
        needs=tuple(str(n).lower() for n in raw.get("needs") or ()),
    )


def _compile_rule_list(raw: Any, where: str) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"clean rules: {where} must be a list")
    rules = tuple(_compile_rule(r, f"{where}[{i}]") for i, r in enumerate(raw))
    names = [r.name for r in rules]
    if len(names) != len(set(names)):
        raise ConfigError(f"clean rules: {where} has duplicate rule names")
    return rules


def compile_rules(data: dict[str, Any]) -> CleanRules:
    """Validate and compile a parsed ``clean.yaml``."""
    if not isinstance(data, dict):
        raise ConfigError("clean rules: the file must be a mapping")
    html = data.get("html") or {}
    main_raw = dict(html.get("main_content") or {})
    main = MainContentSettings(
        **{k: v for k, v in main_raw.items() if k != "tag_bonus"},
        tag_bonus=dict(main_raw.get("tag_bonus") or {}),
    )
    sites: dict[str, SiteRules] = {}
    for site, raw_site in sorted((data.get("sites") or {}).items()):
        raw_site = raw_site or {}
        sites[str(site)] = SiteRules(
            rules=_compile_rule_list(raw_site.get("rules"), f"sites.{site}.rules"),
            drop_selectors=tuple(raw_site.get("drop_selectors") or ()),
        )
    return CleanRules(
        drop_tags=frozenset(html.get("drop_tags") or ()),
        drop_small_tags=frozenset(html.get("drop_small_tags") or ()),
        small_tag_max_chars=int(html.get("small_tag_max_chars", 500)),
        boilerplate_attr=_attr_regex(
            list(html.get("boilerplate_attr") or []),
            "html.boilerplate_attr",
            whole=list(html.get("boilerplate_attr_whole") or []),
        ),
        token_patterns=(
            _attr_token_pattern(
                list(html.get("boilerplate_attr") or []),
                "html.boilerplate_attr",
                whole=list(html.get("boilerplate_attr_whole") or []),
            ),
            _attr_token_pattern(list(html.get("weak_attr") or []), "html.weak_attr"),
            _attr_token_pattern(list(html.get("content_attr") or []), "html.content_attr"),
        ),
        weak_keep_chars=int(html.get("weak_keep_chars", 200)),
        protect_share=float(html.get("protect_share", 0.5)),
        main=main,
        text=TextSettings(**(data.get("text") or {})),
        repetition=RepetitionSettings(**(data.get("repetition") or {})),
        rules=_compile_rule_list(data.get("rules"), "rules"),
        sites=sites,
    )


@functools.lru_cache(maxsize=1024)
def _joinable_anchored(pattern: re.Pattern[str]) -> bool:
    """Every match of ``pattern`` starts at the beginning of the text (``^`` opens each of its
    alternatives), so ``match`` finds what ``search`` finds, and it refers to no group (so it
    can be joined with other patterns). False when unsure."""
    try:
        from re import _constants as sre_constants
        from re import _parser as sre_parser
    except ImportError:  # private modules: without them, no pattern is joined
        return False
    references = (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS)

    def refers(items: Any) -> bool:
        for op, arg in items:
            if op in references:
                return True
            for value in arg if isinstance(arg, (tuple, list)) else (arg,):
                if isinstance(value, sre_parser.SubPattern) and refers(value):
                    return True
                if isinstance(value, list) and any(
                    isinstance(v, sre_parser.SubPattern) and refers(v) for v in value
                ):
                    return True
        return False

    def anchored(items: Any) -> bool:
        if not items:
            return False
        op, arg = items[0]
        if op is sre_constants.AT:
            return arg in (sre_constants.AT_BEGINNING, sre_constants.AT_BEGINNING_STRING)
        if op is sre_constants.BRANCH:
            return all(anchored(list(branch)) for branch in arg[1])
        if op is sre_constants.SUBPATTERN:  # (group, added flags, removed flags, items)
            return not arg[1] & re.MULTILINE and anchored(list(arg[-1]))
        return False

    if pattern.flags & re.MULTILINE:  # "^" then matches after every newline
        return False
    try:
        parsed = sre_parser.parse(pattern.pattern, pattern.flags)
    except Exception:
        return False
    return anchored(list(parsed)) and not refers(parsed)


@dataclass(frozen=True)
class _Screens:
    """The block rules that may try texts of one length range, and two screens that rule out
    most texts in one call each instead of one per rule.

    ``anchored`` matches a text wherever one of the rules' patterns that open with ``^`` (and
    have no ``needs``) matches it; ``needs`` finds one of the rules' ``needs`` strings in a
    lower-cased text. ``tried[(anchored hit, needs hit)]`` are the rules a text is tried
    with, in rule order: the screened rules whose screen let it through, and every other.
    """

    anchored: re.Pattern[str] | None
    needs: re.Pattern[str] | None
    tried: dict[tuple[bool, bool], tuple[Rule, ...]]


@dataclass(frozen=True)
class _BlockPlan:
    limits: list[int]  # ascending upper ends of the length ranges (the largest max_chars last)
    screens: list[_Screens]  # screens[i]: for texts longer than limits[i - 1], at most limits[i]


# Length ranges per rule list: each range's joined screens take a few milliseconds to compile.
_MAX_RANGES = 16


_PLANS: dict[int, tuple[tuple[Rule, ...], _BlockPlan]] = {}


def _screens(rules: list[Rule]) -> _Screens:
    anchored_rules = [
        r
        for r in rules
        if not r.needs
        and not r.pattern.flags & ~(re.IGNORECASE | re.UNICODE)  # type: ignore[union-attr]
        and _joinable_anchored(r.pattern)  # type: ignore[arg-type]
    ]
    anchored = None
    if anchored_rules:
        # Each pattern keeps its own case flag inside the joined one.
        parts = [
            f"(?i:{r.pattern.pattern})" if r.pattern.flags & re.IGNORECASE else f"(?:{r.pattern.pattern})"  # type: ignore[union-attr]
            for r in anchored_rules
        ]
        try:
            anchored = re.compile("|".join(parts))
        except re.error:  # e.g. the same group name in two patterns
            anchored_rules = []
    needs_rules = [r for r in rules if r.needs]
    needs = re.compile("|".join(re.escape(n) for r in needs_rules for n in r.needs)) if needs_rules else None
    joined = {id(r) for r in anchored_rules}
    tried = {
        (a, n): tuple(r for r in rules if (a or id(r) not in joined) and (n or not r.needs))
        for a in (False, True)
        for n in (False, True)
    }
    return _Screens(anchored=anchored, needs=needs, tried=tried)


def _max_chars(rule: Rule) -> int:
    return rule.max_chars if rule.max_chars is not None else sys.maxsize


def _block_plan(rules: tuple[Rule, ...]) -> _BlockPlan:
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    block_rules = [r for r in rules if r.type == "block" and r.pattern is not None]
    every = sorted({_max_chars(r) for r in block_rules})
    # A text of length L may only be tried by rules with max_chars >= L: the screens of a
    # length range leave out the rules (and the costly patterns) that cannot try any text in it.
    step = -(-len(every) // _MAX_RANGES)  # ceiling division
    limits = every[step - 1 :: step] if every else []
    if every and limits[-1] != every[-1]:
        limits.append(every[-1])
    screens = []
    for number in range(len(limits)):
        shortest = limits[number - 1] + 1 if number else 0
        screens.append(_screens([r for r in block_rules if _max_chars(r) >= shortest]))
    plan = _BlockPlan(limits=limits, screens=screens)
    if len(_PLANS) > 64:  # site rule lists come and go on long runs
        _PLANS.clear()
    _PLANS[id(rules)] = (rules, plan)
    return plan


def _first_block_rules(blocks: list[CleanBlock], rules: tuple[Rule, ...]) -> dict[int, Rule]:
    """Block index -> the first block rule (in rule order) that matches that block."""
    plan = _block_plan(rules)
    limits, screens = plan.limits, plan.screens
    found: dict[int, Rule] = {}
    for index, block in enumerate(blocks):
        text = block.text
        tier = bisect.bisect_left(limits, len(text))
        if tier == len(limits):
            continue  # longer than any block rule looks at
        screen = screens[tier]
        lowered = text.lower() if screen.needs is not None else None
        key = (
            screen.anchored is not None and screen.anchored.match(text) is not None,
            lowered is not None and screen.needs.search(lowered) is not None,  # type: ignore[union-attr]
        )
        for rule in screen.tried[key]:
            # Rule.matches, inlined: this loop runs for every block and block rule.
            if rule.max_chars is not None and len(text) > rule.max_chars:
                continue
            if rule.kinds and block.kind not in rule.kinds:
                continue
            if rule.needs and not rule.may_match(lowered if lowered is not None else text.lower()):
                continue
            if rule.pattern.search(text):  # type: ignore[union-attr]
                found[index] = rule
                break
    return found


def rule_drops(blocks: list[CleanBlock], rules: tuple[Rule, ...]) -> list[str | None]:
    """For each block, the name of the first rule that drops it (None = kept)."""
    drops: list[str | None] = [None] * len(blocks)
    list_members: dict[int, list[int]] = {}
    for index, block in enumerate(blocks):
        if block.list_id is not None:
            list_members.setdefault(block.list_id, []).append(index)

    def mark(index: int, name: str) -> None:
        if drops[index] is None:
            drops[index] = name

    # Which block rule drops a block depends on nothing but the block: each block's first
    # matching block rule is found up front, then applied in rule order with the others.
    by_rule: dict[int, list[int]] = {}
    if any(rule.type == "block" for rule in rules):
        for index, rule in _first_block_rules(blocks, rules).items():
            by_rule.setdefault(id(rule), []).append(index)
    for rule in rules:
        if rule.type == "block":
            for index in by_rule.get(id(rule), ()):
                mark(index, rule.name)
        elif rule.type == "section":
            for index, (block, matched) in enumerate(zip(blocks, rule.match_flags(blocks), strict=True)):
                if block.kind == "list_item" or not matched:
                    continue
                mark(index, rule.name)
                following = blocks[index + 1] if index + 1 < len(blocks) else None
                if following is not None and following.list_id is not None:
                    for member in list_members[following.list_id]:
                        mark(member, rule.name)
                    continue
                # No list: the entries may be paragraphs that are one link each.
                for member in range(index + 1, len(blocks)):
                    block = blocks[member]
                    if block.kind == "heading" or block.link_chars < LINK_ENTRY_SHARE * len(block.text):
                        break
                    mark(member, rule.name)
        elif rule.type == "list":
            for members in list_members.values():
                items = [blocks[m].text for m in members]
                hit = bool(rule.first_item and rule.first_item.search(items[0]))
                if not hit and rule.item_pattern is not None:
                    share = sum(1 for t in items if rule.item_pattern.search(t)) / len(items)
                    hit = share >= rule.min_share
                if hit:
                    for member in members:
                        mark(member, rule.name)
        elif rule.type == "run":
            run: list[int] = []
            for index, matched in enumerate([*rule.match_flags(blocks), False]):
                if matched:
                    run.append(index)
                    continue
                if len(run) >= rule.min_run:
                    for member in run:
                        mark(member, rule.name)
                run = []
    return drops
