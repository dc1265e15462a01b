"""The clean stage on the seed pages (plain text) and on small HTML pages written for these tests."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from abstractpipe.clean import CleanRules, CleanStep, extract_html, extract_text
from abstractpipe.config import load_config
from abstractpipe.document import Document, Source
from abstractpipe.pipeline import observe_sites, run_steps

from .conftest import SHARED, requires_shared

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "fixtures" / "seeds"
HTML_FIXTURES = REPO / "tests" / "fixtures" / "clean"
RULES = CleanRules.from_file(REPO / "configs" / "clean.yaml")

RESEARCH_LABELS = [
    "Simple Explanation",
    "Study Duration",
    "Participants",
    "Evidence Level",
    "Key Findings",
    "Research Summary",
    "Practical Implications",
    "Study Limitations",
]


def seed_documents() -> Iterator[Document]:
    for path in sorted(SEEDS.glob("*/*.txt")):
        yield Document(
            id=path.stem,
            source=Source(path=path.relative_to(SEEDS).as_posix(), site=path.parent.name, format="text"),
            markup=path.read_text(encoding="utf-8"),
        )


@pytest.fixture(scope="module")
def cleaned_seeds() -> tuple[dict[str, Document], CleanStep]:
    step = CleanStep(load_config(REPO / "configs" / "default.yaml"))
    observe_sites([step], seed_documents)
    docs = {doc.id[:3]: doc for doc in run_steps([step], seed_documents())}
    return docs, step


def block_texts(doc: Document) -> list[str]:
    return [doc.block_text(b) for b in doc.blocks]


# --- seeds through the pipeline ------------------------------------------------------------


def test_seed_documents_are_cleaned_with_consistent_offsets(cleaned_seeds):
    docs, step = cleaned_seeds
    assert len(docs) == 5
    for doc in docs.values():
        assert doc.failure is None
        assert doc.text == "\n\n".join(block_texts(doc))
        for block in doc.blocks:
            assert "\n\n" not in doc.block_text(block)
            assert doc.block_text(block) == doc.block_text(block).strip()
    assert step.counters["dropped_repeated"] > 0
    assert step.counters["dropped_rule:copyright"] == 6  # "© 2025 …" and "All rights reserved." x 3
    assert step.counters["blocks_kept"] == sum(len(d.blocks) for d in docs.values())


@pytest.mark.parametrize("key", ["000", "001", "002"])
def test_research_summary_loses_site_chrome(cleaned_seeds, key):
    doc = cleaned_seeds[0][key]
    texts = block_texts(doc)
    for chrome in [
        "Spinal Cord Research Help",
        "AboutCategoriesLatest ResearchContact",
        "Subscribe",
        "Quick Links",
        "Home",
        "Disclaimer",
        "Contact",
        "Contact Us",
        "All rights reserved.",
        "Your Feedback",
        "Was this summary helpful?",
        "Research",
    ]:
        assert chrome not in texts, chrome
    assert not any(t.startswith(("©", "Back to", "Making Spinal Cord Injury")) for t in texts)
    # The breadcrumb's last item repeats the title: the title must now occur exactly once.
    title_blocks = [t for t in texts if t == texts[0]]
    assert len(title_blocks) == 1


@pytest.mark.parametrize(
    ("key", "title", "citation"),
    [
        (
            "000",
            "Mesenchymal stem cell-based therapies for treating well-studied neurological disorders: "
            "a systematic review",
            "Frontiers in Medicine, 2024 · DOI: 10.3389/fmed.2024.1361723 · Published: March 27, 2024",
        ),
        ("001", "Transplantation of", "J Transl Med, 2021 · DOI: https://doi.org/10.1186/s12967-021-02843-0"),
        (
            "002",
            "Current status of cell-mediated regenerative therapies for human spinal cord injury",
            "Neurosci Bull, 2014 · DOI: 10.1007/s12264-013-1438-4 · Published: August 1, 2014",
        ),
    ],
)
def test_research_summary_keeps_content(cleaned_seeds, key, title, citation):
    doc = cleaned_seeds[0][key]
    texts = block_texts(doc)
    assert texts[0].startswith(title)
    assert texts[1].startswith(citation)
    for label in RESEARCH_LABELS:
        assert label in texts, label
        index = texts.index(label)
        assert index + 1 < len(texts)
    raw = next(SEEDS.glob(f"researchsummaries/{key}_*.txt")).read_text(encoding="utf-8")
    # Every content line from "Simple Explanation" up to "Your Feedback" survives (bare item numbers
    # excepted: their text is the item).
    body = raw.split("\nSimple Explanation\n", 1)[1].split("Your Feedback", 1)[0]
    lines = [" ".join(line.replace("•", " ").split()) for line in body.splitlines()]
    expected = [line for line in lines if line and not line.isdigit()]
    assert len(expected) >= 20
    for line in expected:
        assert line in texts, line


def test_research_summary_labels_and_list_items(cleaned_seeds):
    doc = cleaned_seeds[0]["001"]
    by_text = {doc.block_text(b): b for b in doc.blocks}
    assert by_text["Key Findings"].kind == "heading"
    assert by_text["Participants"].kind == "heading"
    assert by_text["949 patients with SCI"].kind == "paragraph"
    assert by_text["Not specified"].kind == "paragraph"
    findings = [b for b in doc.blocks if b.kind == "list_item"]
    assert len(findings) == 6  # three key findings, three limitations; the bare numbers are gone
    assert findings[0].list_id == findings[2].list_id != findings[3].list_id
    assert doc.block_text(findings[0]).startswith("MSCs significantly improved ASIA motor score")
    assert not any(doc.block_text(b).isdigit() for b in doc.blocks)


def test_pubmed_keeps_abstracts_and_drops_similar_articles(cleaned_seeds):
    doc = cleaned_seeds[0]["003"]
    texts = block_texts(doc)
    assert texts[0].startswith("Isfahan Neurosciences Research Center")
    assert texts[1].startswith("Department of Neurology, School of Medicine")
    assert texts[2].startswith(
        "Mult Scler Relat Disord. 2024 Jul;87:105681. doi: 10.1016/j.msard.2024.105681"
    )
    assert any(t.startswith("BACKGROUND: Current therapeutic strategies") for t in texts)
    for header in ["背景:", "目的:", "方法:", "结果:", "结论:"]:
        assert any(t.startswith(header) for t in texts), header
    assert "Cochrane Database" not in doc.text
    assert "Front Cell Dev Biol. 2025-2-3" not in doc.text
    assert texts[-1].startswith("结论:")


def test_clinic_page_loses_chrome_and_keeps_article(cleaned_seeds):
    doc = cleaned_seeds[0]["004"]
    texts = block_texts(doc)
    assert "Skip to main content" not in doc.text
    assert "Share on:" not in doc.text
    assert "For further information" not in doc.text
    assert texts[0].startswith("A new study from Yale University")
    assert "The new results" in texts
    references = [b for b in doc.blocks if b.kind == "list_item"]
    assert len(references) == 3
    assert len({b.list_id for b in references}) == 1
    assert doc.block_text(references[0]).startswith("Honmou O et al. Intravenous infusion")


def test_repetition_alone_drops_site_chrome_and_keeps_template_labels():
    """With no boilerplate rules at all, cross-page counts still separate chrome from labels."""
    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    data["rules"] = []
    from abstractpipe.clean import SiteRepetition, compile_rules
    from abstractpipe.clean.text import parse_text

    rules = compile_rules(data)
    repetition = SiteRepetition(rules.repetition)
    pages = sorted(SEEDS.glob("researchsummaries/*.txt"))
    for page in pages:
        repetition.observe("rs", parse_text(page.read_text(encoding="utf-8"), rules))
    repetition.finish()
    cleaned = extract_text(pages[0].read_text(encoding="utf-8"), rules, "rs", repetition)
    texts = [b.text for b in cleaned.blocks]
    assert "Spinal Cord Research Help" not in texts
    assert "Quick Links" not in texts and "Disclaimer" not in texts
    assert "Was this summary helpful?" not in texts
    for label in RESEARCH_LABELS:
        assert label in texts, label
    assert cleaned.counters["kept_template_label"] >= len(RESEARCH_LABELS)


def test_repetition_needs_enough_pages():
    step = CleanStep(load_config(REPO / "configs" / "default.yaml"))
    two_pages = [d for d in seed_documents() if d.source.site == "researchsummaries"][:2]
    observe_sites([step], lambda: iter(two_pages))
    assert step.repetition.repeated == {}


# --- plain text parsing --------------------------------------------------------------------


def test_text_bullets_numbers_and_wrapped_paragraphs():
    text = (
        "Trial design\n\n"
        "Patients were randomly assigned to receive the study drug or a matching placebo for\n"
        "twelve weeks, and outcomes were assessed blind to allocation.\n"
        "A second line that is its own paragraph.\n\n"
        "  1. Home\n  2. Trials\n\n"
        "  • 1\n    First finding of the trial.\n  • 2\n    Second finding.\n"
        "Closing line after the list.\n"
    )
    page = extract_text(text, {"rules": []})
    kinds = [(b.kind, b.text) for b in page.blocks]
    assert kinds[0] == ("heading", "Trial design")
    assert kinds[1][1].startswith("Patients were randomly assigned") and kinds[1][1].endswith("allocation.")
    assert kinds[2] == ("paragraph", "A second line that is its own paragraph.")
    assert kinds[3:5] == [("list_item", "Home"), ("list_item", "Trials")]
    assert kinds[5:7] == [("list_item", "First finding of the trial."), ("list_item", "Second finding.")]
    assert page.blocks[3].list_id == page.blocks[4].list_id != page.blocks[5].list_id
    assert kinds[7] == ("paragraph", "Closing line after the list.")


def test_text_chinese_wrapped_lines_join_without_space():
    text = "目的：探讨间充质干细胞治疗脊髓损伤的安全性和有效性，并分析不同移植途径对神经功能恢复的影响以及\n相关因素。\n"
    rules = {"text": {"wrap_min_chars": 30}, "rules": []}
    page = extract_text(text, rules)
    assert [b.text for b in page.blocks] == [text.replace("\n", "")]


# --- HTML ------------------------------------------------------------------------------------


def read_fixture(name: str) -> str:
    return (HTML_FIXTURES / name).read_text(encoding="utf-8")


def test_html_journal_article_main_content():
    page = extract_html(read_fixture("journal_article.html"), RULES)
    texts = [b.text for b in page.blocks]
    assert (
        texts[0] == "Intrathecal mesenchymal stem cells in progressive multiple sclerosis: a randomised trial"
    )
    assert page.blocks[0].kind == "heading" and page.blocks[0].level == 1
    assert "Li Chen, Anna Smith, Wei Zhang" in texts  # the article's own <header> is content
    assert any(t.startswith("Results: Disability scores improved by 0.4 points") for t in texts)
    assert "Figure 1. Trial profile and patient flow." in texts
    table = next(b for b in page.blocks if b.kind == "table")
    assert table.text == "Group | n | Age (years)\nMSC | 24 | 51.2\nSham | 24 | 49.8"
    refs = [b for b in page.blocks if b.kind == "list_item"]
    assert len(refs) == 2 and refs[0].list_id == refs[1].list_id
    assert refs[0].path.endswith("article.article/section.references/ol/li")
    assert "Inclusion required an EDSS score between 3.0 and 6.5 and a disease duration" in page.text
    for chrome in [
        "Skip to main content",
        "cookies",
        "Issues",
        "Most read",
        "Related articles",
        "Autologous haematopoietic",
        "Subscribe",
        "©",
        "Privacy policy",
        "Share on",
        "Twitter",
    ]:
        assert chrome not in page.text, chrome
    assert page.counters["html_dropped_container"] >= 4


def test_html_page_meta():
    page = extract_html(read_fixture("journal_article.html"), RULES)
    meta = page.page_meta
    assert meta["citation_title"] == [
        "Intrathecal mesenchymal stem cells in progressive multiple sclerosis: a randomised trial"
    ]
    assert meta["citation_doi"] == ["10.1234/jnr.2024.0042"]
    assert meta["dc.identifier"] == ["doi:10.1234/jnr.2024.0042"]
    assert meta["og:title"] == ["Intrathecal MSCs in progressive MS"]
    assert meta["citation_author"] == ["Chen, Li", "Smith, Anna"]
    assert meta["title"][0].startswith("Intrathecal mesenchymal stem cells in progressive")
    assert meta["canonical"] == ["https://journal.example.org/articles/10.1234/jnr.2024.0042"]
    assert meta["html_lang"] == ["en"]
    assert '"@type": "ScholarlyArticle"' in meta["jsonld"][0]


def test_html_chinese_news_page():
    page = extract_html(read_fixture("zh_news.html"), RULES)
    texts = [b.text for b in page.blocks]
    assert texts[0] == "干细胞治疗脊髓损伤取得新进展"
    assert sum(1 for t in texts if "干细胞" in t or "患者" in t or "治疗组" in t) >= 4
    assert any(t.startswith("结果显示，治疗组运动评分较基线平均提高六分") for t in texts)
    for chrome in [
        "首页",
        "热点排行",
        "春季过敏",
        "相关阅读",
        "专家解读",
        "分享到",
        "版权所有",
        "ICP备",
        "网站地图",
    ]:
        assert chrome not in page.text, chrome
    assert page.page_meta["html_lang"] == ["zh-CN"]
    assert page.page_meta["keywords"] == ["干细胞,脊髓损伤,临床试验"]


def test_html_bare_fragment():
    page = extract_html(read_fixture("fragment.html"), RULES)
    assert [(b.kind, b.text) for b in page.blocks] == [
        ("heading", "Key findings"),
        (
            "paragraph",
            "Autologous mesenchymal stem cells improved motor scores in 8 of 13 patients "
            "with chronic spinal cord injury.",
        ),
        ("list_item", "No serious adverse events were reported during 6 months of follow-up."),
        ("list_item", "Improvements appeared within weeks of the infusion."),
    ]
    assert page.page_meta == {}
    assert page.blocks[0].path == "html/body/h2"


def test_html_script_before_html_tag():
    page = extract_html(read_fixture("script_first.html"), RULES)
    assert page.blocks[0].text == "Exercise after stroke: a cohort study"
    assert "312 stroke survivors" in page.text
    assert "window.top" not in page.text
    assert "Great article" not in page.text
    assert page.page_meta["html_lang"] == ["en-GB"]
    assert page.page_meta["citation_doi"] == ["10.5555/stroke.2023.7"]


def site_config(tmp_path: Path):
    """A copy of the default config whose clean rules add a per-site entry."""
    for name in (REPO / "configs").glob("*.yaml"):
        shutil.copy(name, tmp_path / name.name)
    rules = yaml.safe_load((tmp_path / "clean.yaml").read_text(encoding="utf-8"))
    rules["sites"] = {
        "journal.example.org": {
            "drop_selectors": ["div.author-bio"],
            "rules": [
                {
                    "name": "download_pdf",
                    "type": "block",
                    "max_chars": 40,
                    "pattern": "^download (pdf|citation)$",
                }
            ],
        }
    }
    (tmp_path / "clean.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return load_config(tmp_path / "default.yaml")


def test_html_per_site_rules_through_the_step(tmp_path):
    step = CleanStep(site_config(tmp_path))
    markup = read_fixture("journal_article.html")

    def docs() -> list[Document]:
        return [
            Document(id=f"{site}-1", source=Source(path="a.html", site=site, format="html"), markup=markup)
            for site in ("journal.example.org", "other.example.org")
        ]

    observe_sites([step], docs)
    site_doc, other_doc = list(run_steps([step], docs()))
    assert "Download PDF" not in site_doc.text and "Li Chen is a neurologist" not in site_doc.text
    assert "Download PDF" in other_doc.text and "Li Chen is a neurologist" in other_doc.text
    assert step.counters["dropped_rule:download_pdf"] == 1
    assert step.counters["html_dropped_selector"] == 1
    assert site_doc.page_meta["citation_doi"] == ["10.1234/jnr.2024.0042"]
    heading = site_doc.blocks[0]
    assert (heading.kind, heading.level) == ("heading", 1)
    assert heading.path == "html/body.page/div.layout/main/article.article/header.article-header/h1"


def test_page_without_content_is_quarantined():
    step = CleanStep(load_config(REPO / "configs" / "default.yaml"))
    empty = Document(
        id="x",
        source=Source(path="x.html", site="s", format="html"),
        markup="<html><body><nav><a href='/'>Home</a></nav><footer>© 2024 Example</footer></body></html>",
    )
    (doc,) = run_steps([step], [empty])
    assert doc.failure is not None
    assert doc.failure.stage == "clean"
    assert "no main content after cleaning" in doc.failure.error
    assert step.counters["no_main_content"] == 1


def test_html_link_lists_lose_to_prose():
    markup = (
        "<div class='a'><ul>"
        + "".join(
            f"<li><a href='/{i}'>Story number {i} about a very interesting topic</a></li>" for i in range(8)
        )
        + "</ul></div><div class='b'><p>The trial enrolled 120 adults, who were followed for two years; "
        "mortality fell by a third, and adverse events were rare.</p><p>Investigators caution that the "
        "results, while encouraging, need replication in larger and more diverse populations.</p></div>"
    )
    page = extract_html(markup, RULES)
    assert [b.kind for b in page.blocks] == ["paragraph", "paragraph"]
    assert page.counters["blocks_outside_main"] == 8


def test_html_deeper_than_the_recursion_limit():
    sentence = "Deeply nested pages still yield their text, with punctuation, in one block."
    page = extract_html("<div>" * 1500 + f"<p>{sentence}</p>" + "</div>" * 1500, RULES)
    assert [b.text for b in page.blocks] == [sentence]


def test_extraction_is_deterministic():
    markup = read_fixture("journal_article.html")
    first, second = extract_html(markup, RULES), extract_html(markup, RULES)
    assert first.text == second.text
    assert [b.path for b in first.blocks] == [b.path for b in second.blocks]


# --- pages whose content sits where a naive cleaner drops it -------------------------------

PROSE = [
    "The trial enrolled 120 adults with chronic low back pain, who were followed for two years.",
    "Pain scores fell by a third in the exercise group, and adverse events were rare and mild.",
    "Investigators caution that the results, while encouraging, need replication in larger groups.",
    "Adherence to the programme was high: nine in ten participants completed every session.",
]


def test_html_form_wrapping_the_page_is_content_but_a_search_form_is_not():
    # ASP.NET pages wrap the whole body in one <form runat=server>.
    markup = (
        "<html><body><form id='aspnetForm' method='post'>"
        "<div class='top'><form class='search'><input name='q'><span>Search the site</span></form></div>"
        "<div class='story'><h1>Exercise for back pain</h1>"
        + "".join(f"<p>{p}</p>" for p in PROSE)
        + "</div></form></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == "Exercise for back pain"
    assert all(p in page.text for p in PROSE)
    assert "Search the site" not in page.text
    assert page.counters["html_dropped_small_tag"] == 1


def test_html_blogger_post_inside_a_widget_is_kept():
    markup = (
        "<html><body><div class='main'><div id='Blog1' class='widget Blog'><h3>Exercise for back pain</h3>"
        + "".join(f"<p>{p}</p>" for p in PROSE)
        + "</div></div><div class='sidebar'><div id='PopularPosts1' class='widget PopularPosts'><ul>"
        + "".join(f"<li><a href='/p{i}'>Popular post number {i} about something</a></li>" for i in range(6))
        + "</ul></div></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert all(p in page.text for p in PROSE)
    assert "Popular post" not in page.text


def test_html_body_swallowed_by_head_is_recovered():
    # An unknown element in <head> makes lxml nest the whole <body> inside <head>.
    markup = (
        "<html><head><title>新闻</title><cms_include:style><style>p{}</style>"
        "<body><div class='nav'><a href='/'>首页</a></div><div id='text'><h1>干细胞治疗脊髓损伤</h1>"
        "<p>研究人员招募了四十名慢性脊髓损伤患者，随机分为治疗组和对照组，随访十二个月。</p>"
        "<p>结果显示，治疗组运动评分较基线平均提高六分，而对照组没有明显变化。</p>"
        "</div></body></cms_include:style></head></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == "干细胞治疗脊髓损伤"
    assert "结果显示，治疗组运动评分较基线平均提高六分，而对照组没有明显变化。" in page.text
    assert page.counters["html_body_moved_out_of_head"] == 1


def forum_page() -> str:
    posts = "".join(
        f"<form action='/post/{i}' method='post'><article class='post' id='elComment_{i}'>"
        f"<aside class='author'>user{i}</aside>"
        f"<div class='entry__content comment-{1000 + i}_wrap'><p>{text}</p></div></article></form>"
        for i, text in enumerate(PROSE)
    )
    return (
        "<html><body><header class='site'><a href='/'>Forums</a></header>"
        "<div class='thread'><h1>Does exercise help back pain?</h1>" + posts + "</div>"
        "<div class='comments-footer'><a href='/rules'>Community rules</a></div></body></html>"
    )


def test_html_forum_posts_marked_as_comments_are_all_kept():
    page = extract_html(forum_page(), RULES)
    assert page.blocks[0].text == "Does exercise help back pain?"
    assert [b.text for b in page.blocks[1:]] == PROSE
    assert "Community rules" not in page.text
    assert "user1" not in page.text


def test_html_items_of_one_promo_bar_are_not_a_content_group():
    slides = "".join(
        f"<div class='promo-bar__slide'><p>Free shipping on orders over {40 + i} dollars, for more "
        "information on shipping rates and timelines, please visit our international page.</p></div>"
        for i in range(12)
    )
    markup = (
        f"<html><body><div class='promo-bar'>{slides}</div><main><h1>Promotion terms</h1>"
        f"<p>{PROSE[0]} {PROSE[1]}</p></main></body></html>"
    )
    page = extract_html(markup, RULES)
    assert "Free shipping" not in page.text
    assert PROSE[0] in page.text


def test_html_chinese_article_furniture_lines_are_dropped():
    teasers = " | ".join(f"<a href='/n{i}'>今日推荐新闻标题第{i}条内容</a>" for i in range(4))
    markup = (
        "<html><body><div class='news'><h1>干细胞治疗脊髓损伤取得新进展</h1>"
        "<p>2005-04-05 06:40更新 来源：转载文章 | 第 1 页/共 1 页 &lt;&lt; 上一页 | 下一页 &gt;&gt;</p>"
        f"<p>{teasers}</p>"
        "<p>研究人员招募了四十名慢性脊髓损伤患者，随机分为治疗组和对照组，随访十二个月。</p>"
        "<p>结果显示，治疗组运动评分较基线平均提高六分，而对照组没有明显变化。</p>"
        "<p>专家认为，这项研究为干细胞疗法的临床应用提供了新的证据，但仍需更大规模的试验。</p>"
        "<p>（ 责任编辑：王小明 ）</p><p>· | 医疗关注新发现 | · | 皮肤顽疾康复</p>"
        "<p>Saturday, September 10th, 2005 10:56 am</p></div></body></html>"
    )
    page = extract_html(markup, RULES)
    texts = [b.text for b in page.blocks]
    assert texts == [
        "干细胞治疗脊髓损伤取得新进展",
        "研究人员招募了四十名慢性脊髓损伤患者，随机分为治疗组和对照组，随访十二个月。",
        "结果显示，治疗组运动评分较基线平均提高六分，而对照组没有明显变化。",
        "专家认为，这项研究为干细胞疗法的临床应用提供了新的证据，但仍需更大规模的试验。",
    ]
    for rule in ("dateline", "editor_source", "bar_separated_titles"):
        assert page.counters[f"dropped_rule:{rule}"] == (2 if rule == "dateline" else 1), rule


def test_html_dates_inside_sentences_are_kept():
    markup = (
        "<html><body><article><p>2019年3月5日，研究人员发表了结果，治疗组的运动评分明显提高。</p>"
        "<p>On November 19, 2019, the team said it would resume enrolment after the review.</p>"
        "</article></body></html>"
    )
    page = extract_html(markup, RULES)
    assert len(page.blocks) == 2


def test_html_link_rows_go_on_articles_but_stay_on_listings():
    rows = "".join(
        f"<p><a href='/s{i}'>Another story worth reading about trial number {i}</a></p>" for i in range(2)
    )
    article = (
        "<html><body><article>"
        + "".join(f"<p>{p}</p>" for p in PROSE * 2)
        + rows
        + "</article></body></html>"
    )
    page = extract_html(article, RULES)
    assert "Another story" not in page.text and page.counters["html_dropped_link_line"] == 2
    listing = "<html><body><main>" + rows * 4 + f"<p>{PROSE[0]}</p></main></body></html>"
    assert "Another story" in extract_html(listing, RULES).text


def test_html_posts_served_in_noscript_are_kept_but_a_javascript_notice_is_not():
    # Discourse forums render posts by script and serve them to crawlers in <noscript>.
    posts = "".join(f"<div class='post'><p>{p}</p></div>" for p in PROSE)
    markup = (
        "<html><body><noscript>Please enable JavaScript to use this site.</noscript>"
        f"<section id='main-outlet'><noscript><h1>Does exercise help back pain?</h1>{posts}</noscript>"
        "</section></body></html>"
    )
    page = extract_html(markup, RULES)
    assert all(p in page.text for p in PROSE)
    assert "enable JavaScript" not in page.text


def test_html_hidden_element_holding_the_page_is_kept_but_a_hidden_menu_is_not():
    markup = (
        "<html><body><div style='display:none' class='mega'><ul><li><a href='/a'>All topics</a></li>"
        "<li><a href='/b'>Latest posts and news</a></li></ul></div>"
        "<div style='visibility: hidden' id='app-ssr'><h1>Does exercise help back pain?</h1>"
        + "".join(f"<p>{p}</p>" for p in PROSE)
        + "</div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == "Does exercise help back pain?"
    assert all(p in page.text for p in PROSE)
    assert "All topics" not in page.text
    assert page.counters["html_protected_hidden"] == 1 and page.counters["html_dropped_hidden"] == 1


def test_html_article_split_into_differently_styled_blocks_is_kept_whole():
    first, second = PROSE[:2], PROSE[2:]
    markup = (
        "<html><body><div class='page'><h1>Does exercise help back pain?</h1>"
        "<div class='row'><div class='col-text-left'>"
        + "".join(f"<p>{p}</p>" for p in first)
        + "</div></div>"
        "<div class='row-alt'><div class='col-text-right'>"
        + "".join(f"<p>{p}</p>" for p in second)
        + "</div></div>"
        "<div class='row-links'><div class='col-links'><p><a href='/x'>A link to another page of the site</a>"
        " <a href='/y'>and one more link</a></p></div></div></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert all(p in page.text for p in PROSE)
    assert "another page" not in page.text
    assert page.counters["html_similar_containers"] == 1


def test_html_link_heavy_sidebar_cell_of_a_layout_table_is_dropped():
    article = "".join(f"<p>{p}</p>" for p in PROSE)
    sidebar = "".join(
        f"<p><a href='/c{i}'>Category number {i} of the blog archive, on trials</a> (12 posts, updated weekly).</p>"
        for i in range(12)
    )
    markup = (
        "<html><body><table><tr><td><h1>Does exercise help back pain?</h1>" + article + "</td>"
        f"<td>{sidebar}</td></tr></table></body></html>"
    )
    page = extract_html(markup, RULES)
    assert all(p in page.text for p in PROSE)
    assert "Category number" not in page.text


def test_html_related_label_with_an_ellipsis_drops_its_list():
    markup = (
        "<html><body><article>" + "".join(f"<p>{p}</p>" for p in PROSE) + "<h3>You may also like...</h3><ul>"
        "<li><a href='/a'>Who will make the Rock Hall in 2020?</a></li>"
        "<li><a href='/b'>Fans really want this band in the Rock Hall</a></li></ul></article></body></html>"
    )
    page = extract_html(markup, RULES)
    assert [b.text for b in page.blocks] == PROSE
    # The label goes by its rule; its link-only entries already went as link lines.
    assert page.counters["dropped_rule:similar_articles"] == 1
    assert page.counters["html_dropped_link_line"] == 2


def test_html_related_label_drops_the_link_paragraphs_after_it_but_not_prose():
    # Some CMSs write the entries of "You may also like..." as one-link paragraphs, not a list.
    markup = (
        "<html><body><article>" + "".join(f"<p>{p}</p>" for p in PROSE) + "<p>You may also like...</p>"
        "<p><a href='/a'>Rock Hall in 2020?</a></p>"
        "<p><a href='/b'>Fans want the band</a></p>"
        f"<p>{PROSE[0]}</p></article></body></html>"
    )
    page = extract_html(markup, RULES)
    assert [b.text for b in page.blocks] == [*PROSE, PROSE[0]]
    assert page.counters["dropped_rule:similar_articles"] == 3


def test_html_content_class_on_a_menu_cell_does_not_outweigh_a_long_post():
    # Old layout-table pages: a menu row sits in a cell whose class says "text"; the post is
    # one long paragraph in a plain cell. The class bonus must shrink with the cell's links.
    menu = " | ".join(f"<a href='/{i}'>栏目{i}</a>" for i in range(12)) + " | 本站简介与服务说明"
    post = "距墨尔本西北约一百一十公里处，是当年发现第一块天然黄金的地方。" * 12
    markup = (
        "<html><body><table><tr><td class='text_a'><table><tr><td>"
        f"{menu}</td></tr></table></td></tr>"
        f"<tr><td><table><tr><td>{post}</td></tr></table></td></tr></table></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.text == post
    assert "栏目" not in page.text


def test_markdown_headings_in_text_dumps_become_headings_without_marks() -> None:
    from abstractpipe.clean import extract_text
    from abstractpipe.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
    rules = config.load_rules(config.section("clean")["rules"])
    page = extract_text(
        "# 综合性护理措施对肺炎支原体感染患儿血液流变学的影响\n\n"
        "摘要：目的 探讨肺炎支原体感染患儿临床治疗中的护理干预及对血液流变学的影响。\n\n"
        "## Effect of multiple nursing intervention on hemorheology ##\n\n"
        "#hashtag is not a heading\n",
        rules,
    )
    headings = [(b.text, b.level) for b in page.blocks if b.kind == "heading"]
    assert headings == [
        ("综合性护理措施对肺炎支原体感染患儿血液流变学的影响", 1),
        ("Effect of multiple nursing intervention on hemorheology", 2),
    ]
    assert "#" not in page.text.replace("#hashtag", "")


def blog_post_with_comment_thread(post_class: str) -> str:
    """A short post beside a comment thread that holds most of the page's text."""
    comments = "".join(
        f"<h4><a href='#c{i}'>#</a> re: Joining the blog <span>2004-12-27 12:{i:02d}</span></h4>"
        f"<p>{PROSE[i % len(PROSE)]} Welcome aboard, number {i}!</p>"
        for i in range(12)
    )
    return (
        "<html><body><div id='main'>"
        f"<div class='{post_class}'><h2>Joining the blog</h2><p>{CHINESE_POST}</p></div>"
        f"<div id='comments'><h3>评论</h3>{comments}</div>"
        "</div></body></html>"
    )


CHINESE_POST = (
    "承蒙邀请，很高兴入住博客堂。作为技术社区，博客堂是一个写技术文章的好地方，我在这里的文章将集中在"
    "编译器与语言设计两个方面，也会介绍一些翻译工作中的体会。希望以后和各位多多交流，共同进步。"
    "简单介绍一下我的情况：在平台刚刚推出之时，我曾为一家技术杂志写过一个专栏，从此进入技术写译界，"
    "前后翻译了两本框架程序设计的书。目前我在上海一家软件公司担任软件架构师，并讲授软件开发课程。"
)


def test_html_comment_thread_beside_a_marked_post_is_dropped_even_when_it_is_most_of_the_page():
    page = extract_html(blog_post_with_comment_thread("post"), RULES)
    assert CHINESE_POST in page.text
    assert "Welcome aboard" not in page.text
    assert page.counters["html_dropped_container"] >= 1


def test_html_comment_thread_is_kept_when_nothing_else_is_marked_as_content():
    # Without a content-marked rival the thread may be the page (a forum, a Q&A page).
    page = extract_html(blog_post_with_comment_thread("box"), RULES)
    assert "Welcome aboard, number 3!" in page.text


def test_html_wrapper_whose_class_merely_contains_a_boilerplate_word_stays():
    article = "".join(f"<p>{text}</p>" for text in PROSE * 3)
    markup = (
        f"<html><body><div class='site-wrap with-sidebar'><div class='lede'>{article}</div></div>"
        f"<div class='post-teaser'><p>{' '.join(PROSE[:3])}</p></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.text.count(PROSE[0]) == 3
    assert page.counters["html_protected_container"] == 1


SERVICE_BLURBS = [
    "Our analysts review your systems, find the gaps that matter and plan the fixes with your team.",
    "Round-the-clock monitoring spots intrusions early, and responders contain them within hours.",
    "We train your staff to recognise phishing, with short lessons and realistic practice campaigns.",
    "Audits map your controls to the standards your regulators expect, with evidence ready to file.",
]


def service_page() -> str:
    """A landing page: one larger section and many small ones, each styled differently."""
    lead = "".join(f"<p>{text}</p>" for text in SERVICE_BLURBS[:3])
    small = "".join(
        f"<div class='band-{name}'><div class='inner-{name}'><h2>{name.title()}</h2>"
        f"<p>{SERVICE_BLURBS[i % 4]} Ask about {name} today.</p></div></div><div>Follow us</div>"
        for i, name in enumerate(["audits", "training", "response", "cloud", "identity", "data"])
    )
    menu = "".join(f"<li><a href='/s/{i}'>Offer {i}</a></li>" for i in range(12))
    return (
        "<html><body><ul class='top'>" + menu + "</ul><div class='page'>"
        f"<h1>Security services</h1><div class='lead'>{lead}</div>{small}</div></body></html>"
    )


def test_html_page_spread_over_small_sections_is_kept_whole():
    page = extract_html(service_page(), RULES)
    for name in ["audits", "training", "response", "cloud", "identity", "data"]:
        assert f"Ask about {name} today." in page.text
    assert "Offer 3" not in page.text and "Follow us" not in page.text
    assert page.counters["html_widened_main"] == 1


def test_html_article_holding_most_of_the_prose_is_not_widened():
    article = "".join(f"<p>{text}</p>" for text in PROSE * 2)
    markup = (
        f"<html><body><div class='page'><div class='story'>{article}</div>"
        f"<div class='more'><p>{SERVICE_BLURBS[0]}</p></div></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert SERVICE_BLURBS[0] not in page.text
    assert page.counters["html_widened_main"] == 0


def test_body_text_leaves_out_the_title_heading_but_text_keeps_it():
    markup = f"<html><body><article><h1>Exercise and back pain</h1><p>{PROSE[0]}</p><p>{PROSE[1]}</p></article></body></html>"
    page = extract_html(markup, RULES)
    assert page.text.startswith("Exercise and back pain\n\n")
    assert page.body_text == f"{PROSE[0]}\n\n{PROSE[1]}"
    untitled = extract_html(
        f"<html><body><article><h2>Methods</h2><p>{PROSE[0]}</p></article></body></html>", RULES
    )
    assert untitled.body_text == untitled.text


def test_html_hidden_only_as_a_whole_class_token():
    # Utility and animation classes that merely contain "hidden" wrap visible content.
    sections = "".join(
        f"<div class='{cls}'><h2>Part {i}</h2><p>{PROSE[i]}</p></div>"
        for i, cls in enumerate(["overflow-hidden rounded", "blockanim--hidden", "elementor-hidden-mobile"])
    )
    markup = f"<html><body><main>{sections}<div class='hidden'><p>{PROSE[3]}</p></div></main></body></html>"
    page = extract_html(markup, RULES)
    assert [PROSE[0], PROSE[1], PROSE[2]] == [b.text for b in page.blocks if b.kind == "paragraph"]


def test_html_collapsed_sections_holding_most_of_the_page_are_kept():
    # Each section is hidden until its heading is clicked; together they are the article.
    sections = "".join(f"<h2>Step {i}</h2><div hidden><p>{text}</p></div>" for i, text in enumerate(PROSE))
    markup = (
        "<html><body><div class='menu' hidden><a href='/a'>Accounts</a> <a href='/b'>Brokers</a></div>"
        f"<main><h1>How to start</h1><p>Four steps.</p>{sections}</main></body></html>"
    )
    page = extract_html(markup, RULES)
    assert all(text in page.text for text in PROSE)
    assert "Brokers" not in page.text


def test_html_hidden_copies_of_the_visible_article_are_dropped():
    article = "".join(f"<p>{text}</p>" for text in PROSE)
    markup = (
        f"<html><body><article>{article}</article><div style='display:none'>{article}</div>"
        f"<div hidden>{article}</div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.text.count(PROSE[0]) == 1


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Advert", "ad_label"),
        ("广告", "ad_label"),
        ("This slideshow requires JavaScript.", "script_notice"),
        ("Please enable JavaScript to view the comments.", "script_notice"),
        ("Share this on WhatsApp", "share_bar"),
        ("Photo: Ringo H.W. Chiu, AP", "media_credit"),
        ("Image copyright Getty Images", "media_credit"),
        ("图片来源：新华社", "media_credit"),
        ("Image caption", "media_label"),
        ("video", "media_label"),
        ("BUSINESS.SOHU.COM 2005年3月11日12:12 来源：[ 人民网 ]", "source_dateline"),
        ("http://biz.163.com 2005-04-25 08:24:06 来源: 第一财经日报 网友评论 0 条", "source_dateline"),
        ("原创版权禁止商业转载 授权>>", "reprint_notice"),
        (
            "Associated Press writers Alan Fram and Zeke Miller contributed to this report.",
            "contributor_credit",
        ),
        ("Additional reporting by Joseph Hudak", "contributor_credit"),
        (
            'Need more space? Subscribe to our sister title "All About Space" Magazine for the latest news.',
            "newsletter_promo",
        ),
        (
            "Sign up for The Water Coolest today to get the free daily newsletter delivered daily.",
            "newsletter_promo",
        ),
        ("Follow Newsbeat on Instagram, Facebook, Twitter and YouTube.", "follow_promo"),
        ("未经本网授权，不得转载、摘编或利用其它方式使用上述作品。", "reprint_notice"),
        ("· 伊利公告称高管被正式批捕 · 官员称国资流失严重 · 权威部门解读四大价格", "dot_separated_titles"),
        (
            "〖没事〗回复: 《王丹：我们已经看到希望》 拿了人家的钱就是手软 (2005-10-01 10:09:00)",
            "reply_teaser",
        ),
        ("By Bill Hoppe | Special to the Pioneer Press", "byline"),
        ("By Jane Doe and John Roe", "byline"),
        ("September 10, 2018 | by Catherine", "byline"),
        (
            "PUBLISHED: November 19, 2019 at 8:59 pm | UPDATED: November 19, 2019 at 10:16 pm",
            "published_stamp",
        ),
        ("New Delhi, News Nation Bureau | Updated : 19 November 2019, 09:01 AM", "published_stamp"),
    ],
)
def test_boilerplate_lines_inside_an_article_are_dropped(line: str, rule: str) -> None:
    markup = f"<html><body><article><p>{PROSE[0]}</p><p>{line}</p><p>{PROSE[1]}</p></article></body></html>"
    page = extract_html(markup, RULES)
    assert line not in page.text
    assert page.counters[f"dropped_rule:{rule}"] == 1


def test_sentences_that_resemble_boilerplate_lines_are_kept() -> None:
    lines = [
        "The advert campaign ran for three weeks and reached many readers in the region.",
        "Researchers rewrote the JavaScript client, which now loads twice as fast as before.",
        "Photographs of the lesions were reviewed by two dermatologists blinded to the arm.",
        "Patients who did not follow the protocol on two visits were excluded from the analysis.",
        "Nurses from three wards contributed data, and the staff of each ward reviewed the forms.",
        "By Monday, most of the patients had been discharged from the ward.",
        "患者回复：《健康调查问卷》已于2005年全部收回，应答率为92%。",
        "· 研究纳入412例患者。",
        "Updated results were published in 2019 by the same group of investigators.",
        "2019年3月起，研究者从三家医院招募患者，数据来源于电子病历系统，共纳入412例。",
    ]
    markup = (
        "<html><body><article>"
        + "".join(f"<p>{t}</p>" for t in [*lines, *PROSE])
        + "</article></body></html>"
    )
    assert all(line in extract_html(markup, RULES).text for line in lines)


def test_html_link_list_items_and_link_tables_inside_an_article_go():
    related = "".join(
        f"<li><a href='/r/{i}'>Related story number {i} about pain and exercise</a></li>" for i in range(3)
    )
    table = (
        "<table><tr><td><a href='/t'>今日推荐：运动疗法缓解腰痛的十个方法</a></td></tr>"
        "<tr><td><a href='/u'>专家解读：慢性腰痛患者如何坚持锻炼</a></td></tr></table>"
    )
    article = "".join(f"<p>{text}</p>" for text in PROSE * 3)
    markup = f"<html><body><article>{article}<ul>{related}</ul>{table}</article></body></html>"
    page = extract_html(markup, RULES)
    assert "Related story" not in page.text and "今日推荐" not in page.text
    assert page.text.count(PROSE[3]) == 3


def test_html_long_data_table_outweighs_a_list_of_notes():
    # Forty rows of mostly linked names score like forty short blocks, not like one paragraph.
    rows = "".join(
        f"<tr><td>{1901 + i}</td><td><a href='/w/{i}'>Laureate Number{i}</a></td>"
        f"<td><a href='/f'>Physiology or Medicine</a></td><td>for work on sleep and memory</td></tr>"
        for i in range(40)
    )
    notes = "".join(
        f"<li>In {1940 + i}, the prize was not awarded, as the committee found no candidate "
        f"worthy of it; the money went to the fund (see <a href='/n/{i}'>note {i}</a>).</li>"
        for i in range(3)
    )
    markup = (
        "<html><body><div class='page'><div class='body'><h2>Laureates</h2>"
        f"<table><tr><th>Year</th><th>Name</th><th>Field</th><th>Citation</th></tr>{rows}</table></div>"
        f"<div class='notes'><ol>{notes}</ol></div></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert "Laureate Number39" in page.text


def test_html_opening_paragraphs_in_a_container_of_their_own_are_kept():
    opening = "".join(f"<div class='zn-body__paragraph'>{text}</div>" for text in PROSE[:2])
    rest = "".join(f"<div class='zn-body__paragraph'>{text} {text}</div>" for text in PROSE * 2)
    markup = (
        "<html><body><div class='promo'><h2>Most read</h2><p>A teaser paragraph about something "
        f"else entirely, which readers of this site might like.</p></div><div class='l-container'>{opening}"
        f"<div class='el__embedded'><img src='x.jpg'>Photo</div><div class='zn-body__read-all'>{rest}</div>"
        "</div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == PROSE[0] and page.blocks[1].text == PROSE[1]
    assert "teaser paragraph" not in page.text
    assert page.counters["html_leading_prose_kept"] == 2


def test_html_many_link_lines_after_an_article_go_when_its_prose_outweighs_them():
    links = "".join(
        f"<p><a href='/s{i}'>[头条] 第{i}条推荐新闻的标题：专家详解慢性腰痛患者如何坚持运动，点击查看详情</a></p>"
        for i in range(6)
    )
    prose = "".join(f"<p>{text} {text}</p>" for text in PROSE)
    page = extract_html(f"<html><body><article>{prose}{links}</article></body></html>", RULES)
    assert "[头条]" not in page.text
    assert page.counters["html_dropped_link_line"] == 6
    # More link lines than prose: a listing with an introduction, the links stay.
    listing = extract_html(f"<html><body><main><p>{PROSE[0]}</p>{links * 3}</main></body></html>", RULES)
    assert "[头条] 第5条" in listing.text


def test_html_article_of_nested_sections_is_kept_whole():
    # Unclosed <section>s nest each part of the article inside the one before it; the deepest,
    # longest part scores best, yet the article is all of them.
    parts = [" ".join([text] * 2) for text in PROSE]
    deep = "".join(f"<p>{text}</p>" for text in PROSE * 4)
    markup = (
        "<html><body><main><article><h1>Equipment guide</h1>"
        f"<section><p>{parts[0]}</p><p>{parts[1]}</p><section><p>{parts[2]}</p><p>{parts[3]}</p>"
        f"<section><section>{deep}</section></section></section></section>"
        "</article></main></body></html>"
    )
    page = extract_html(markup, RULES)
    assert parts[0] in page.text and parts[3] in page.text
    assert page.counters["html_widened_main"] == 1


def _sample_lines() -> list[str]:
    """Lines of the seed pages, the HTML fixtures, and examples of what the rules drop."""
    lines: list[str] = []
    for path in sorted((REPO / "tests" / "fixtures").rglob("*")):
        if path.suffix in (".txt", ".html", ".htm"):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [
        *lines,
        "© 2024 Example Health",
        "(C) 2019 Foo",
        "Copyright 2020 Bar",
        "All Rights Reserved.",
        "We use cookies to improve your experience. Accept",
        "Please enable JavaScript.",
        "3 min read",
        "版权所有 © 2005",
        "未经授权不得复制",
        "第 1 页/共 3 页",
        "上一页 | 下一页",
        "a | b | c | d",
        "Posted on 12/3/2019",
        "2005年3月11日 来源：人民网",
        "ICP备05000001号",
    ]


def test_rules_with_needs_cannot_match_without_them():
    # `needs` is a fast test in front of a rule's pattern: a wrong list would silently
    # disable the rule, so every text the pattern matches must hold one of them.
    rules = [r for r in RULES.rules if r.needs]
    assert len(rules) >= 10
    for line in _sample_lines():
        for rule in rules:
            if rule.pattern is not None and rule.pattern.search(line):
                assert rule.may_match(line.lower()), (rule.name, line)


def test_a_rule_is_not_tried_on_text_without_its_needs():
    from abstractpipe.clean.rules import compile_rules as compile_clean

    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    data["rules"] = [{"name": "odd", "type": "block", "pattern": "abc", "needs": ["xyz"]}]
    rules = compile_clean(data)
    markup = f"<html><body><article><p>abc</p><p>abc xyz</p><p>{PROSE[0]}</p></article></body></html>"
    page = extract_html(markup, rules)
    assert "abc" in [b.text for b in page.blocks] and page.counters["dropped_rule:odd"] == 1


@requires_shared
def test_rules_with_needs_cannot_match_without_them_on_the_benchmark_pages():
    import gzip
    import json

    rules = [r for r in RULES.rules if r.needs]
    for path in sorted((SHARED / "eval" / "boilerplate").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                page = json.loads(line)
                for text in page["gold_text"].splitlines():
                    for rule in rules:
                        if rule.pattern is not None and rule.pattern.search(text):
                            assert rule.may_match(text.lower()), (rule.name, text)


def test_html_prose_before_the_page_title_is_not_taken_as_the_article_body():
    markup = (
        "<html><body><section class='site-intro'><h2>Research Help</h2><p>Making research accessible "
        "to everyone, with simplified summaries for patients and carers.</p></section>"
        f"<main><article><h1>Exercise and back pain</h1><p>{PROSE[0]}</p><p>{PROSE[1]}</p>"
        f"<p>{PROSE[2]}</p></article></main></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == "Exercise and back pain"
    assert "accessible" not in page.text


def test_html_a_list_of_linked_keywords_stays_whole():
    keywords = ["diabetes", "colchicine", "percutaneous coronary intervention", "inflammation"]
    items = "".join(f"<li><a href='/k/{i}'>{k}</a></li>" for i, k in enumerate(keywords))
    article = "".join(f"<p>{text}</p>" for text in PROSE * 2)
    page = extract_html(
        f"<html><body><article>{article}<h3>Keywords</h3><ul>{items}</ul></article></body></html>", RULES
    )
    assert [b.text for b in page.blocks if b.kind == "list_item"] == keywords


def test_html_drops_do_not_depend_on_reused_element_ids():
    # Dropped subtrees' element proxies were once remembered by id only; freed proxies' ids
    # came back on other elements, which were then skipped as if dropped, now and then.
    forms = "".join(
        f"<form class='search'><div><span><i>Search {i}</i></span></div><input name='q{i}'></form>"
        for i in range(40)
    )
    menus = "".join(f"<div class='menu-{i}'><a href='/{i}'>Section {i}</a></div>" for i in range(40))
    article = "".join(f"<p>{text}</p>" for text in PROSE * 3)
    markup = f"<html><body>{forms}{menus}<article>{article}</article></body></html>"
    runs = {tuple(sorted(extract_html(markup, RULES).counters.items())) for _ in range(25)}
    assert len(runs) == 1
    assert dict(next(iter(runs)))["html_dropped_container"] == 40


def test_html_a_list_is_lifted_to_the_container_holding_it():
    # An answer's long checklist scores above the answer itself; the answer is the unit.
    checklist = "".join(f"<li>{text} {text}</li>" for text in PROSE * 2)
    markup = (
        "<html><body><div class='answer'><div class='prose'>"
        f"<p>{PROSE[0]}</p><ul><li><p>{PROSE[1]}</p><ul>{checklist}</ul></li></ul><p>{PROSE[2]}</p>"
        "</div></div><div class='side'><a href='/a'>Hot questions</a></div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.blocks[0].text == PROSE[0] and PROSE[2] in page.text
    assert page.counters["html_list_lifted"] == 1
    assert "Hot questions" not in page.text


def test_html_page_left_almost_empty_is_parsed_again_keeping_marked_containers():
    # Forum posts in "comment" wrappers hold under half the page (link panels hold the rest),
    # so they went as chrome with the panels and almost nothing was left.
    def panel(name: str) -> str:
        links = "".join(f"<a href='/{name}/{i}'>{name} entry number {i} of the site</a> " for i in range(25))
        return f"<div class='{name}'>{links}</div>"

    posts = "".join(
        f"<div class='comment-{800 + i}_wrap'><p>{PROSE[i]} {PROSE[i + 1]}</p></div>" for i in range(2)
    )
    chrome = panel("sidebar") + panel("related") + panel("promo")
    markup = f"<html><body>{chrome}<p>View in the app</p><div class='thread'>{posts}</div></body></html>"
    page = extract_html(markup, RULES)
    assert PROSE[0] in page.text and PROSE[2] in page.text
    assert page.counters["html_fallback_kept_containers"] == 1
    assert "entry number" not in page.text


def test_html_customer_reviews_go_but_a_review_article_stays():
    reviews = "".join(f"<div class='review'><p>{text} Five stars from me.</p></div>" for text in PROSE[:2])
    product = "".join(f"<p>{text}</p>" for text in PROSE * 2)
    markup = (
        f"<html><body><div class='product'><h1>Shelf unit</h1>{product}</div>"
        f"<div class='reviews'><h2>Reviews</h2>{reviews}</div></body></html>"
    )
    page = extract_html(markup, RULES)
    assert "Five stars" not in page.text and page.text.count(PROSE[3]) == 2
    assert page.counters["html_dropped_container"] == 1  # by its class, before scoring
    # One review as the article (a review site) is not a list of reviews.
    single = f"<html><body><article class='review'><h1>Best laptops</h1>{product}</article></body></html>"
    assert extract_html(single, RULES).text.count(PROSE[3]) == 2


def test_html_subtree_text_helpers_agree_with_itertext():
    # drop_non_content measures text with libxml2's text serialiser and one XPath call instead
    # of joining itertext(); they must give the same strings, before and after the drops.
    from collections import Counter

    from abstractpipe.clean import html

    pages = [path.read_text(encoding="utf-8") for path in sorted(HTML_FIXTURES.glob("*.html"))]
    pages.append(
        "<html><body><p>a<b>b</b>c<![CDATA[d]]>e&amp;<script>x</script>t<span> s </span>"
        "<i>\u200b</i>z</p><div hidden>h<p>q</p></div></body></html>"
    )
    for markup in pages:
        root = html.parse_tree(markup)
        assert root is not None
        for dropped in (False, True):
            if dropped:
                html.drop_non_content(root, RULES, None, Counter())
            for tag in root.iter():
                assert html._subtree_text(tag) == "".join(tag.itertext())
                assert html._spaced_text(tag) == " ".join(tag.itertext())


def test_html_wrapper_far_above_the_article_is_not_dropped_as_chrome():
    # The elements holding an <article> are found by walking up from it; the walk once
    # remembered freed element proxies by id and could stop early at a reused id.
    nested = "<div>" * 12 + "<article>" + "".join(f"<p>{t}</p>" for t in PROSE) + "</article>" + "</div>" * 12
    other = "".join(f"<p>{t}</p>" for t in PROSE * 3)  # the wrapper holds under half the page
    for _ in range(5):
        page = extract_html(
            f"<html><body><div class='page with-nav-sidebar'>{nested}</div><section>{other}</section>"
            "</body></html>",
            RULES,
        )
        assert page.counters["html_dropped_container"] == 0
        assert PROSE[0] in page.text


def _rule_drops_one_rule_at_a_time(blocks, rules):
    """rule_drops as it was written first: every rule over every block, in rule order."""
    from abstractpipe.clean.rules import rule_drops

    drops = [None] * len(blocks)
    for rule in rules:
        if rule.type == "block":
            for index, block in enumerate(blocks):
                if drops[index] is None and rule.matches(block):
                    drops[index] = rule.name
        else:
            for index, name in enumerate(rule_drops(blocks, (rule,))):
                if drops[index] is None:
                    drops[index] = name
    return drops


def test_screened_block_rules_drop_what_each_rule_alone_drops():
    # rule_drops tries a block only with the rules two joined screens let through; the result
    # must be what trying every rule in turn gives, at the max_chars edges and in every kind.
    from abstractpipe.clean.blocks import CleanBlock
    from abstractpipe.clean.rules import compile_rules as compile_clean
    from abstractpipe.clean.rules import rule_drops

    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    data["rules"] += [
        {"name": "late_anchored", "type": "block", "max_chars": 12, "pattern": "^Home$"},
        {"name": "unanchored", "type": "block", "max_chars": 40, "pattern": "^x|menu"},
        {"name": "backref", "type": "block", "pattern": r"^(ab)\1$"},
        {"name": "cased", "type": "block", "pattern": "^ABC", "case_sensitive": True, "kinds": ["heading"]},
    ]
    rules = compile_clean(data)
    edges = [
        "Home",
        "home",
        " Home",
        "Twitter",
        "abab",
        "ABC def",
        "abc def",
        "a menu",
        "x" * 600,
        "©" + " " * 199,
    ]
    edges += ["Follow us on Twitter" + " " * n for n in (129, 130, 131)]
    kinds = ["paragraph", "heading", "list_item", "table", "caption"]
    blocks = [CleanBlock(text=t, kind=kinds[i % len(kinds)]) for i, t in enumerate(_sample_lines()[:3000])]
    blocks += [CleanBlock(text=t, kind=kind) for t in edges for kind in kinds]
    expected = _rule_drops_one_rule_at_a_time(blocks, rules.rules)
    assert rule_drops(blocks, rules.rules) == expected
    assert {"late_anchored", "unanchored", "backref", "cased", "social_button"} - set(expected) == set()


def test_only_patterns_anchored_in_every_alternative_are_joined():
    import re

    from abstractpipe.clean.rules import _joinable_anchored

    assert _joinable_anchored(re.compile("^a|^b"))
    assert _joinable_anchored(re.compile("(?:^a|^(b|c))d", re.IGNORECASE))
    assert not _joinable_anchored(re.compile("^a|b"))
    assert not _joinable_anchored(re.compile("a^"))
    assert not _joinable_anchored(re.compile(r"^(a)\1"))
    assert not _joinable_anchored(re.compile("(?m)^a"))
    assert not _joinable_anchored(re.compile("(?m:^a)"))


def test_html_walk_of_inline_leaves_breaks_and_blank_lines():
    # The walk handles childless inline elements without a frame of their own and splits a
    # flow at blank lines only when it holds a newline; these blocks are what the frame-per-
    # element walk gave.
    from abstractpipe.clean import html

    markup = (
        "<html><body><div>Intro <a href='/x'>link</a><img src='i.png'> tail<br>line two"
        "<span>\u200b</span></div><p><i></i>\u200b</p><p>one\n\n  two <b>bold</b><a href='/y'><span>in</span>"
        "</a> end</p><ul><li><a href='/1'>First item</a></li><li>Second <em>item</em></li></ul>"
        "<p><a href='/z'>whole link</a></p></body></html>"
    )
    blocks = html._Walker().walk(html._body(html.parse_tree(markup)))
    assert [(b.text, b.kind, b.level, b.list_id, b.path, b.link_chars) for b in blocks] == [
        ("Intro link tail line two", "paragraph", 0, None, "html/body/div", 4),
        ("one", "paragraph", 0, None, "html/body/p", 0),
        ("two boldin end", "paragraph", 0, None, "html/body/p", 2),
        ("First item", "list_item", 1, 0, "html/body/ul/li", 10),
        ("Second item", "list_item", 1, 0, "html/body/ul/li", 0),
        ("whole link", "paragraph", 0, None, "html/body/p", 10),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain words here",
        " spaced\u00a0out\u2003text\u3000",
        "中文字符和English混合",
        "全角（括号）与，标点。",
        "caf\u00e9 na\u00efve \U0001f600 \U00020000x",
        "\ua000\uff01\uffef\ufff0 tail",
        "tab\tand\nnewline\x1c\x1d",
    ],
)
def test_token_count_fast_path_agrees_with_the_token_pattern(text: str) -> None:
    from abstractpipe.clean.blocks import _TOKEN_RE, token_count

    assert token_count(text) == len(_TOKEN_RE.findall(text))


@pytest.mark.parametrize(
    ("css_class", "ident", "role"),
    [
        (None, None, None),
        ("", " ", None),
        ("post-body", None, None),
        ("x", "comments", "main"),
        (None, None, "nav"),
    ],
)
def test_element_flags_are_the_flags_of_the_joined_values(css_class, ident, role):
    joined = f"{css_class or ''} {ident or ''} {role or ''}".strip()
    expected = RULES.attr_flags(joined) if joined else (False, False, False)
    assert RULES.element_flags(css_class, ident, role) == expected
    assert RULES.element_flags(css_class, ident, role) == expected  # cached


def test_html_small_form_on_a_long_page_goes_and_one_holding_the_page_stays():
    # A long page decides its small tags by a lower bound of its text, a short one by the count.
    article = "".join(f"<p>{text}</p>" for text in PROSE * 6)
    markup = (
        f"<html><body><form><input name='q'>Search the site</form><article>{article}</article></body></html>"
    )
    page = extract_html(markup, RULES)
    assert page.counters["html_dropped_small_tag"] == 1 and "Search the site" not in page.text
    short = f"<html><body><form>Search the site<p>{PROSE[0]}</p></form></body></html>"
    assert PROSE[0] in extract_html(short, RULES).text


def test_text_lines_skip_the_item_patterns_only_when_they_cannot_match():
    from abstractpipe.clean import text

    lines = [
        "  • Home",
        "\t- item",
        "– dash item",
        "* star",
        "1. First",
        "  12) twelve",
        "(3) third",
        "a. letter",
        "B. upper",
        "١. arabic-indic digit",
        "１. full-width digit",
        "\u3000• ideographic space",
        "\u00a0\u00a0• nbsp indent",
        "plain line",
        "",
        "   ",
        "·中文",
        "x" * 130,
        "1. " + "long " * 40,
    ]
    for line in lines:
        (read,) = text._read_lines(line)
        expanded = line.replace("\t", "    ").replace("\u00a0", " ").rstrip()
        indent = len(expanded) - len(expanded.lstrip(" "))
        bullet = None
        if text._BULLET_RE.match(expanded):
            bullet = "bullet"
        elif (match := text._NUMBERED_RE.match(expanded)) and (indent > 0 or len(match["body"]) <= 120):
            bullet = "number"
        assert read.bullet == bullet, line


def test_text_blank_lines_end_a_list_unless_an_item_of_its_kind_follows():
    rules = CleanRules.from_file(REPO / "configs" / "clean.yaml")
    page = extract_text("• one\n\n\n• two\n\nA paragraph line.\n\n\n\n1. first\n\n• other", rules)
    items = [(b.text, b.list_id) for b in page.blocks if b.kind == "list_item"]
    assert items[0][1] == items[1][1] and items[2][1] != items[1][1] and items[3][1] != items[2][1]


def test_parsed_pages_survive_the_work_file_pickle():
    import pickle

    from abstractpipe.clean import parse_page

    markup = (
        f"<html><body><article><h1>Title</h1><ul><li>a</li></ul><p>{PROSE[0]}</p></article></body></html>"
    )
    parsed = parse_page(markup, True, RULES, "site")
    again = pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == parsed and again.blocks and all(type(b) is type(parsed.blocks[0]) for b in again.blocks)
    assert [b.list_id for b in again.blocks] == [b.list_id for b in parsed.blocks]
    # Pickled column by column: an empty page, and blocks whose fields all differ from the defaults.
    from abstractpipe.clean.blocks import CleanBlock, CleanedPage

    for page in (
        CleanedPage(),
        CleanedPage(
            blocks=[CleanBlock("t", "list_item", 2, 7, "body/ul", 1, ("a",)), CleanBlock("u")],
            page_meta={"title": ["x"]},
            counters=Counter({"n": 1}),
        ),
    ):
        assert pickle.loads(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL)) == page


def test_a_sites_rule_list_is_one_tuple_so_its_screens_are_built_once():
    from abstractpipe.clean.rules import compile_rules as compile_clean

    data = yaml.safe_load((REPO / "configs" / "clean.yaml").read_text(encoding="utf-8"))
    data["sites"] = {"s.example": {"rules": [{"name": "x", "type": "block", "pattern": "^x$"}]}}
    rules = compile_clean(data)
    assert rules.rules_for("s.example") is rules.rules_for("s.example")
    assert [r.name for r in rules.rules_for("s.example")][-1] == "x"
    assert rules.rules_for("other.example") is rules.rules


def _old_dump(repetition, path: Path) -> None:
    """The counts file as versions before the tab-separated entries wrote it (JSON lists)."""
    import json

    lines = [json.dumps({"pages": dict(sorted(repetition.pages.items()))}, ensure_ascii=False)]
    for site in sorted(repetition.occurrences):
        counts = repetition.occurrences[site]
        lines += [json.dumps([site, key, counts[key]], ensure_ascii=False) for key in sorted(counts)]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_repetition_shard_files_reduce_like_in_memory_counts(tmp_path: Path) -> None:
    # Sites holding a tab, a newline, quotes, a backslash and non-ASCII characters, whose JSON
    # sorts differently from the strings themselves; one shard in the old JSON-list format.
    from abstractpipe.clean import SiteRepetition
    from abstractpipe.clean.blocks import CleanBlock
    from abstractpipe.clean.rules import RepetitionSettings

    settings = RepetitionSettings(min_pages=2, min_count=2, min_share=0.5)
    sites = ["a\tb", "a\nb", 'a"b', "a\\b", "ab", "a b", "期刊.cn", "é", ""]
    pages = [
        (site, [CleanBlock(f"menu {n % 3}", path="nav/ul"), CleanBlock(f"text {page}"), CleanBlock("Home")])
        for n, site in enumerate(sites)
        for page in range(n % 4 + 1)
    ]
    whole = SiteRepetition(settings)
    for site, blocks in pages:
        whole.observe(site, blocks)
    whole.finish()
    paths = []
    for shard in range(3):
        part = SiteRepetition(settings)
        for site, blocks in pages[shard::3]:
            part.observe(site, blocks)
        paths.append(tmp_path / f"{shard}.jsonl")
        if shard == 1:
            _old_dump(part, paths[-1])
        else:
            part.dump(paths[-1])
    reduced = SiteRepetition(settings)
    reduced.join_parts([reduced.reduce_part(paths, 0, 1)])
    assert whole.repeated and reduced.repeated == whole.repeated
    # Reduced in parts by site (as workers do), any number of them joins into the same sets;
    # the parts share no site, and with several parts each holds fewer sites than the whole.
    for parts in (2, 3, 7):
        results = [SiteRepetition(settings).reduce_part(paths, part, parts) for part in range(parts)]
        assert sum(len(result) for result in results) == len(whole.repeated)
        assert all(len(result) < len(whole.repeated) for result in results)
        joined = SiteRepetition(settings)
        joined.join_parts(results)
        assert joined.repeated == whole.repeated


def test_parse_page_from_ingested_bytes_matches_encoding_the_markup() -> None:
    # The work of both passes on the repo's raw pages: the same blocks and metadata whether the
    # parser is handed ingest's UTF-8 bytes or encodes the markup itself.
    from abstractpipe.clean import parse_page
    from abstractpipe.ingest import IngestStep, discover_inputs

    config = load_config(REPO / "configs" / "default.yaml")
    step = CleanStep(config)
    reused = 0
    for doc in IngestStep(config)(discover_inputs(REPO / "raw")):
        if doc.failed or doc.source.format != "html":
            continue
        reused += doc.markup_utf8 is not None
        fast = parse_page(doc.markup, True, step.rules, doc.source.site, doc.markup_utf8)
        plain = parse_page(doc.markup, True, step.rules, doc.source.site)
        assert [(b.text, b.kind, b.path, b.link_chars) for b in fast.blocks] == [
            (b.text, b.kind, b.path, b.link_chars) for b in plain.blocks
        ]
        assert (fast.page_meta, fast.counters) == (plain.page_meta, plain.counters)
    assert reused


def test_fingerprint_fast_path_agrees_with_normalising() -> None:
    # The fast path trusts that printable text holds no whitespace but ASCII spaces and no U+200B.
    from abstractpipe.clean.blocks import fingerprint, normalise_space

    for code in range(0x110000):
        char = chr(code)
        if code != 0x20 and (len(f"a{char}b".split()) > 1 or normalise_space(char) != char):
            assert not char.isprintable(), hex(code)
    texts = [
        "",
        " ",
        "a",
        "Plain text.",
        " lead",
        "trail ",
        "double  space",
        "nbsp\u00a0inside",
        "zero\u200bwidth",
        "ideo\u3000space",
        "line\nbreak",
        "tab\there",
        "soft\u00adhyphen",
        "İstanbul ß ΣΑΣ",
        "中文 摘要",
        "\u200b",
    ]
    for text in texts:
        assert fingerprint(text) == normalise_space(text).casefold(), repr(text)
