"""Title and bibliographic metadata on small pages written for these tests."""

from __future__ import annotations

import pytest

from abstractpipe.config import load_config
from abstractpipe.document import Document, Section
from abstractpipe.extract import ExtractStep
from abstractpipe.extract.metadata import normalise_doi, page_range
from tests.conftest import REPO
from tests.test_extract import make_doc


@pytest.fixture(scope="module")
def step() -> ExtractStep:
    return ExtractStep(load_config(REPO / "configs" / "default.yaml"))


def test_meta_tags_one_keyword_each_a_labelled_pmid_and_citation_pages(step: ExtractStep) -> None:
    doc = make_doc(
        [("heading", "Lung ultrasound for pneumonia in children"), ("paragraph", "Some text.")],
        {
            "citation_keywords": ["lung ultrasound", "pneumonia", "children"],
            "citation_pmid": ["PMID: 31776789"],
            "citation_pages": ["1780 – 1788"],
        },
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert meta["keywords"]["en"] == ["lung ultrasound", "pneumonia", "children"]
    assert meta["pmid"] == "31776789"
    assert meta["pages"] == "1780-1788"


def test_prism_pages(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")], {"prism.startingpage": ["245"], "prism.endingpage": ["251"]}
    )
    step.process(doc)
    assert doc.fields["metadata"]["pages"] == "245-251"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("doi:10.1016/S0140-6736(19)30418-6.", "10.1016/s0140-6736(19)30418-6"),
        ("10.1002/1097-0142(19900101)", "10.1002/1097-0142(19900101)"),
        ("10.1002/ab.123).", "10.1002/ab.123"),
    ],
)
def test_doi_keeps_a_closing_parenthesis_it_opened(raw: str, expected: str) -> None:
    assert normalise_doi(raw) == expected


def test_repeated_keyword_list_tags_are_not_joined(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")], {"keywords": ["stroke, rehabilitation", "stroke,rehabilitation"]}
    )
    step.process(doc)
    assert doc.fields["metadata"]["keywords"]["en"] == ["stroke", "rehabilitation"]


def text_dump(lines: list[tuple[str, str]], abstract_lines: tuple[int, ...]) -> Document:
    """A text dump whose blocks at ``abstract_lines`` are the main abstract (one section each)."""
    doc = make_doc(lines)
    doc.source.format = "text"
    for block in doc.blocks:
        block.level = 2 if block.kind == "heading" else 0  # the text cleaner's headings are level 2
    for index in abstract_lines:
        block = doc.blocks[index]
        doc.sections.append(Section(block.lang, "other", block.start, block.end))
    return doc


def test_pubmed_abstract_format_citation_line_first_then_title_byline_and_identifiers(
    step: ExtractStep,
) -> None:
    doc = text_dump(
        [
            ("list_item", "JAMA. 2020 Jun 2;323(21):2160-2169. doi: 10.1001/jama.2020.1234."),
            ("paragraph", "Association of statin use with dementia risk in adults aged 75 years or older."),
            ("paragraph", "Fischer H(1)(2), Morgan T(3), van der Berg J(1,3)."),
            ("heading", "Author information:"),
            ("paragraph", "(1)Institute of Public Health, Charité University, Berlin, Germany."),
            ("paragraph", "Statins may protect against dementia in older adults, we report."),
            ("paragraph", "Copyright 2020 American Medical Association."),
            ("paragraph", "DOI: 10.1001/jama.2020.1234\nPMID: 32484532"),
        ],
        abstract_lines=(5,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert (
        doc.fields["title"]["en"]
        == "Association of statin use with dementia risk in adults aged 75 years or older"
    )
    assert (meta["journal"], meta["year"], meta["volume"], meta["issue"], meta["pages"]) == (
        "JAMA",
        2020,
        "323",
        "21",
        "2160-2169",
    )
    assert meta["published"] == "2020-06-02"
    assert meta["pmid"] == "32484532"
    assert meta["authors"] == ["Fischer H", "Morgan T", "van der Berg J"]


def test_dump_title_before_byline_and_addresses_and_a_citation_without_full_stop(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Tranexamic acid in hip arthroplasty: a randomised trial"),
            ("paragraph", "Ramirez L(1), Okonkwo B(2)."),
            ("paragraph", "(1)Department of Orthopaedics, Riverside University Hospital, Bristol, UK."),
            ("paragraph", "(2)School of Nursing, University of Lagos, Lagos, Nigeria."),
            ("paragraph", "BMJ 2020;369:m1234. DOI: 10.1136/bmj.m1234"),
            ("paragraph", "Oral and intravenous tranexamic acid gave the same blood loss."),
        ],
        abstract_lines=(5,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert doc.fields["title"]["en"] == "Tranexamic acid in hip arthroplasty: a randomised trial"
    assert (meta["journal"], meta["year"], meta["volume"], meta["pages"]) == ("BMJ", 2020, "369", "m1234")
    assert meta["doi"] == "10.1136/bmj.m1234"
    assert meta["authors"] == ["Ramirez L", "Okonkwo B"]


def test_chinese_dump_without_citation_line_title_and_authors_before_the_abstract(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("heading", "临床研究"),
            ("heading", "妊娠期糖尿病孕妇肠道菌群特征及其与血糖的相关性"),
            ("heading", "张晓梅1,2，王磊2，陈静1*"),
            (
                "paragraph",
                "（1.复旦大学附属妇产科医院产科，上海 200011；2.复旦大学公共卫生学院，上海 200032）",
            ),
            ("heading", "上海200011"),
            ("paragraph", "目的 分析妊娠期糖尿病孕妇肠道菌群的特征。"),
        ],
        abstract_lines=(5,),
    )
    step.process(doc)
    assert doc.fields["title"]["zh"] == "妊娠期糖尿病孕妇肠道菌群特征及其与血糖的相关性"
    assert doc.fields["metadata"]["authors"] == ["张晓梅", "王磊", "陈静"]


def test_dump_labels_rubrics_and_places_are_neither_title_nor_authors(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("heading", "临床研究"),
            ("heading", "广州510515"),
            ("heading", "Abstract"),
            ("paragraph", "We did a trial."),
        ],
        abstract_lines=(3,),
    )
    step.process(doc)
    assert doc.fields["title"] == {"en": None, "zh": None}
    assert doc.fields["metadata"]["authors"] == []


def test_affiliations_after_a_pubmed_citation_line_lose_their_numbers(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("list_item", "JAMA. 2020 Jun 2;323(21):2160-2169."),
            ("paragraph", "Association of statin use with dementia risk in adults aged 75 years or older."),
            ("paragraph", "Fischer H(1), Morgan T(2)."),
            ("heading", "Author information:"),
            ("paragraph", "(1)Institute of Public Health, Charité University, Berlin, Germany."),
            ("paragraph", "2Department of Epidemiology, Harvard School of Public Health, Boston, USA."),
            ("paragraph", "Statins may protect against dementia in older adults, we report."),
        ],
        abstract_lines=(6,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["affiliations"] == [
        "Institute of Public Health, Charité University, Berlin, Germany.",
        "Department of Epidemiology, Harvard School of Public Health, Boston, USA.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "作者单位：1. 南京医科大学第一附属医院康复医学科，江苏 南京 210029；2. 南京医科大学第二附属医院神经内科，江苏 南京 210011",
        "（1.南京医科大学第一附属医院康复医学科，江苏 南京 210029；2.南京医科大学第二附属医院神经内科，江苏 南京 210011）",
    ],
)
def test_a_chinese_affiliation_line_holds_numbered_addresses(step: ExtractStep, line: str) -> None:
    doc = make_doc([("paragraph", line), ("paragraph", "目的 观察早期康复训练的疗效。")])
    step.process(doc)
    assert doc.fields["metadata"]["affiliations"] == [
        "南京医科大学第一附属医院康复医学科，江苏 南京 210029",
        "南京医科大学第二附属医院神经内科，江苏 南京 210011",
    ]


def test_abstract_text_is_no_affiliation(step: ExtractStep) -> None:
    methods = "在三家康复中心开展双盲、随机、假刺激对照试验，纳入64例患者，按1:1随机分配，两组均接受训练。"
    doc = make_doc([("paragraph", "目的：观察疗效。"), ("paragraph", "方法：" + methods)])
    block = doc.blocks[1]
    doc.sections = [Section("zh", "methods", block.start + 3, block.end, "方法")]
    step.process(doc)
    assert doc.fields["metadata"]["affiliations"] == []


def test_a_number_glued_to_a_date_word_is_no_affiliation_number(step: ExtractStep) -> None:
    assert step.metadata.affiliation_parts("1月20日，南京医科大学学院举办活动，地点南京。") == [
        "1月20日，南京医科大学学院举办活动，地点南京。"
    ]
    assert step.metadata.affiliation_parts("1南方医科大学，广东 广州 510515") == [
        "南方医科大学，广东 广州 510515"
    ]


def test_unnumbered_lines_after_a_citation_line_are_no_affiliations(step: ExtractStep) -> None:
    doc = text_dump(
        [
            (
                "paragraph",
                "Frontiers in Medicine, 2024 · DOI: 10.3389/fmed.2024.1 · Published: March 27, 2024",
            ),
            (
                "paragraph",
                "Systematic review of clinical trials (30 phase I, seven phase II, and six phase I/II)",
            ),
            ("paragraph", "We reviewed the trials."),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["affiliations"] == []


@pytest.mark.parametrize(
    ("page_title", "expected"),
    [
        (
            "Vitamin D and fracture risk in older women | BMC Geriatrics | Full Text",
            "Vitamin D and fracture risk in older women",
        ),
        ("Vitamin D and fracture risk - Part 1 | Bone Blog", "Vitamin D and fracture risk - Part 1"),
        (
            "二甲双胍联合运动干预对多囊卵巢综合征的影响_中国实用妇科与产科杂志",
            "二甲双胍联合运动干预对多囊卵巢综合征的影响",
        ),
        (
            "早期康复训练对脑卒中后吞咽障碍的疗效-中华物理医学与康复杂志",
            "早期康复训练对脑卒中后吞咽障碍的疗效",
        ),
    ],
)
def test_page_title_loses_its_site_suffixes(step: ExtractStep, page_title: str, expected: str) -> None:
    doc = make_doc([("paragraph", "Some text.")], {"title": [page_title]})
    step.process(doc)
    assert expected in doc.fields["title"].values()


def test_an_h1_that_goes_on_from_the_page_title_is_the_title(step: ExtractStep) -> None:
    doc = make_doc(
        [("heading", "Remote ischaemic conditioning in acute stroke: a multicentre randomised trial¶")],
        {
            "title": ["Remote ischaemic conditioning in acute stroke - Journal of Neurology Research"],
            "og:title": ["Remote ischaemic conditioning in acute stroke - Journal of Neurology Research"],
        },
    )
    step.process(doc)
    assert (
        doc.fields["title"]["en"]
        == "Remote ischaemic conditioning in acute stroke: a multicentre randomised trial¶"
    )
    doc = make_doc([("heading", "Logging HOWTO¶")], {"title": ["Logging HOWTO — Python 3 documentation"]})
    step.process(doc)
    assert doc.fields["title"]["en"] == "Logging HOWTO"


def test_og_title_loses_the_suffix_its_page_title_has(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")],
        {
            "title": ["Lung ultrasound for pneumonia in children | Pediatric Reports"],
            "og:title": ["Lung ultrasound for pneumonia in children, a diagnostic study | Pediatric Reports"],
        },
    )
    step.process(doc)
    assert doc.fields["title"]["en"] == "Lung ultrasound for pneumonia in children, a diagnostic study"
    # The same text in both may be a title with a subtitle: kept as it is.
    subtitled = "Top tech conferences 2026 – the events driving innovation"
    doc = make_doc([("paragraph", "Some text.")], {"title": [subtitled], "og:title": [subtitled]})
    step.process(doc)
    assert doc.fields["title"]["en"] == subtitled


def test_bilingual_page_gives_its_english_title_in_a_second_level_heading(step: ExtractStep) -> None:
    doc = make_doc(
        [
            ("heading", "二甲双胍联合运动干预对多囊卵巢综合征患者胰岛素抵抗的影响"),
            ("heading", "Effect of metformin combined with exercise on insulin resistance"),
            ("heading", "Original Article"),
            ("paragraph", "Some text."),
        ]
    )
    doc.blocks[1].level = doc.blocks[2].level = 2
    step.process(doc)
    assert doc.fields["title"]["en"] == "Effect of metformin combined with exercise on insulin resistance"


def test_mdpi_citation_line_and_a_one_comma_chinese_address_with_postcode(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Dietary fibre intake and constipation in adults: a randomised trial"),
            ("paragraph", "（河北医科大学第二医院心内科，河北 石家庄 050000）"),
            ("paragraph", "Nutrients 2021, 13(3), 812; https://doi.org/10.3390/nu13030812"),
            ("paragraph", "We randomised 200 adults to fibre or placebo."),
        ],
        abstract_lines=(3,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert doc.fields["title"]["en"] == "Dietary fibre intake and constipation in adults: a randomised trial"
    assert (meta["journal"], meta["year"], meta["volume"], meta["issue"], meta["pages"]) == (
        "Nutrients",
        2021,
        "13",
        "3",
        "812",
    )
    assert meta["affiliations"] == ["河北医科大学第二医院心内科，河北 石家庄 050000"]


def test_html_byline_under_the_h1_when_there_are_no_author_tags(step: ExtractStep) -> None:
    doc = make_doc(
        [
            ("heading", "Remote ischaemic conditioning in acute stroke"),
            ("paragraph", "Henrik Sørensen1,2, Aiko Tanaka3, Paul Mbeki1"),
            ("paragraph", "Remote ischaemic conditioning may protect the brain during stroke."),
        ]
    )
    doc.sections = [Section("en", "background", doc.blocks[2].start, doc.blocks[2].end)]
    step.process(doc)
    assert doc.fields["metadata"]["authors"] == ["Henrik Sørensen", "Aiko Tanaka", "Paul Mbeki"]


def test_a_title_case_title_is_no_byline(step: ExtractStep) -> None:
    assert step.metadata.author_names("Sleep Duration and Atrial Fibrillation") is None
    assert step.metadata.author_names("Randomized Controlled Trial") is None


def test_a_published_line_dates_a_citation_line_that_gives_the_year_alone(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Dietary fibre intake and constipation in adults: a randomised trial"),
            ("paragraph", "Nutrients 2021, 13(3), 812; https://doi.org/10.3390/nu13030812"),
            (
                "paragraph",
                "Received: 1 February 2021 / Accepted: 24 February 2021 / Published: 28 February 2021",
            ),
            ("paragraph", "We randomised 200 adults to fibre or placebo."),
        ],
        abstract_lines=(3,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["published"] == "2021-02-28"
    # A line of another year (online before print) does not replace the citation's date.
    doc = text_dump(
        [
            ("paragraph", "Lancet. 2020 Jan;395(10219):100-110."),
            ("paragraph", "Published online: 14 December 2019"),
            ("paragraph", "We pooled 12 trials."),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["published"] == "2020-01"


def test_jsonld_person_names_property_value_doi_issue_volume_pages_and_keywords(step: ExtractStep) -> None:
    jsonld = (
        '{"@type": "ScholarlyArticle", "headline": "Home-based cardiac rehabilitation",'
        ' "keywords": ["cardiac rehabilitation", "telehealth"],'
        ' "author": [{"@type": "Person", "givenName": "Clara", "familyName": "Nguyen"}, {"name": "Omar Haddad"}],'
        ' "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": "10.1136/heartjnl-2022-321234"},'
        ' "isPartOf": {"@type": "PublicationIssue", "issueNumber": "18", "isPartOf": {"@type": "PublicationVolume",'
        ' "volumeNumber": 108, "isPartOf": {"@type": "Periodical", "name": "Heart"}}},'
        ' "pageStart": "1432", "pageEnd": "1440"}'
    )
    doc = make_doc([("paragraph", "Some text.")], {"jsonld": [jsonld]})
    step.process(doc)
    meta = doc.fields["metadata"]
    assert meta["authors"] == ["Clara Nguyen", "Omar Haddad"]
    assert (meta["journal"], meta["volume"], meta["issue"], meta["pages"]) == (
        "Heart",
        "108",
        "18",
        "1432-1440",
    )
    assert meta["doi"] == "10.1136/heartjnl-2022-321234"
    assert meta["keywords"]["en"] == ["cardiac rehabilitation", "telehealth"]


@pytest.mark.parametrize(
    ("line", "published"),
    [
        ("J Clin Med. 2020 Jan-Feb;12(1):45-52.", "2020-01"),
        ("Diabetes Care. 2020 Jul/Aug;43(7):1500-1510.", "2020-07"),
        ("Ann Fam Med. 2019 Spring;17(1):10-17.", "2019"),
    ],
)
def test_citation_line_with_a_two_month_or_season_issue_date(
    step: ExtractStep, line: str, published: str
) -> None:
    found = step.metadata.citation(line)
    assert found is not None
    assert (found["year"], found["issue"], found["published"]) == (
        int(published[:4]),
        found["issue"],
        published,
    )
    assert found["pages"] in ("45-52", "1500-1510", "10-17")


def test_doi_from_a_repeated_dc_identifier_tag(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")],
        {
            "dc.identifier": [
                "ISSN 1234-5678",
                "https://example.org/article/12",
                "doi:10.1186/s12891-021-04123-7",
            ]
        },
    )
    step.process(doc)
    assert doc.fields["metadata"]["doi"] == "10.1186/s12891-021-04123-7"


def test_summary_page_citation_line_with_commas_in_the_journal_and_a_day_first_date(
    step: ExtractStep,
) -> None:
    found = step.metadata.citation(
        "Brain, Behavior, and Immunity, 2020 · DOI: 10.1016/j.bbi.2020.01.002 · Published: 5 January 2020"
    )
    assert found is not None
    assert (found["journal"], found["year"], found["doi"], found["published"]) == (
        "Brain, Behavior, and Immunity",
        2020,
        "10.1016/j.bbi.2020.01.002",
        "2020-01-05",
    )


def test_a_summary_page_post_date_gives_way_to_the_paper_date_of_its_source_line(step: ExtractStep) -> None:
    jsonld = '{"@type": "Article", "headline": "Exoskeleton walking and bowel function", "datePublished": "2024-02-14"}'
    source_line = "J Spinal Rehabil Res, 2023 · DOI: 10.5555/jsrr.2023.0117 · Published: November 3, 2023"
    doc = make_doc(
        [("heading", "Exoskeleton walking and bowel function"), ("paragraph", source_line)],
        {"article:published_time": ["2024-02-14"], "jsonld": [jsonld]},
    )
    step.process(doc)
    assert (doc.fields["metadata"]["published"], doc.fields["metadata"]["year"]) == ("2023-11-03", 2023)
    # With no date of the paper, the page's date is still given.
    doc = make_doc([("paragraph", "Some text.")], {"article:published_time": ["2024-02-14T09:00:00Z"]})
    step.process(doc)
    assert doc.fields["metadata"]["published"] == "2024-02-14"


def test_a_list_under_an_affiliations_heading_before_the_abstract_is_addresses(step: ExtractStep) -> None:
    doc = make_doc(
        [
            ("heading", "Transcutaneous spinal cord stimulation for upper-limb function"),
            ("heading", "Affiliations"),
            (
                "list_item",
                "1 Spinal Cord Injury Centre, Lakeside Rehabilitation Hospital, Zurich, Switzerland.",
            ),
            ("list_item", "2 Department of Rehabilitation, Harbourview University, Dublin, Ireland."),
            ("paragraph", "Background: Recovery of hand function is a priority."),
            ("heading", "Similar articles"),
            ("list_item", "Smith J. Rehabilitation after injury. University Press, London, 2019."),
        ]
    )
    doc.blocks[1].level = 3
    doc.blocks[5].level = 2
    abstract = doc.blocks[4]
    doc.sections = [Section("en", "background", abstract.start + 12, abstract.end)]
    step.process(doc)
    assert doc.fields["metadata"]["affiliations"] == [
        "Spinal Cord Injury Centre, Lakeside Rehabilitation Hospital, Zurich, Switzerland.",
        "Department of Rehabilitation, Harbourview University, Dublin, Ireland.",
    ]


def test_bilingual_dump_takes_each_title_from_over_its_own_abstract(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("heading", "妊娠期糖尿病孕妇肠道菌群特征及其与血糖的相关性"),
            ("heading", "张晓梅1，王磊2"),
            ("paragraph", "摘要：目的 分析妊娠期糖尿病孕妇肠道菌群的特征。"),
            ("heading", "关键词：妊娠期糖尿病；肠道菌群"),
            ("paragraph", "Characteristics of gut microbiota in women with gestational diabetes"),
            ("heading", "ZHANG Xiaomei1, WANG Lei2"),
            (
                "paragraph",
                "Abstract: Objective To analyse the gut microbiota of women with gestational diabetes.",
            ),
        ],
        abstract_lines=(2, 6),
    )
    step.process(doc)
    assert doc.fields["title"] == {
        "en": "Characteristics of gut microbiota in women with gestational diabetes",
        "zh": "妊娠期糖尿病孕妇肠道菌群特征及其与血糖的相关性",
    }
    assert step.metadata.author_names("ZHANG Xiaomei1, WANG Lei2") == ["ZHANG Xiaomei", "WANG Lei"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("中国实用内科杂志 2021年第41卷第3期", ("中国实用内科杂志", 2021, "41", "3", None, "2021")),
        (
            "中华心血管病杂志 2019年11月 第47卷 第11期",
            ("中华心血管病杂志", 2019, "47", "11", None, "2019-11"),
        ),
        (
            "中华儿科杂志 2018年第56卷第7期 页码：512-516",
            ("中华儿科杂志", 2018, "56", "7", "512-516", "2018"),
        ),
        ("中华医学杂志 2020年2月4日第100卷第5期", ("中华医学杂志", 2020, "100", "5", None, "2020-02-04")),
    ],
)
def test_a_chinese_journal_masthead_line_gives_journal_volume_and_issue(
    step: ExtractStep, line: str, expected: tuple[object, ...]
) -> None:
    doc = text_dump(
        [
            ("paragraph", line),
            ("paragraph", "老年2型糖尿病患者衰弱状况及其影响因素分析"),
            ("paragraph", "目的 探讨老年2型糖尿病患者衰弱的发生情况。"),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    found = tuple(meta.get(key) for key in ("journal", "year", "volume", "issue", "pages", "published"))
    assert found == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # A journal name in no listed word, no issue: still a GB/T 7714 citation.
        (
            "引用本文：钱一, 孙二. 肺康复效果观察[J]. 临床荟萃, 2019, 34: 12-15. DOI: 10.3969/j.issn.1.2019.01.003.",
            ("临床荟萃", 2019, "34", None, "12-15"),
        ),
        # An issue without a volume.
        ("中国药房, 2020(5): 321-325.", ("中国药房", 2020, None, "5", "321-325")),
        # A Chinese journal's citation written in English.
        (
            "Chin J Endocrinol Metab, 2020, 36(5): 321-325",
            ("Chin J Endocrinol Metab", 2020, "36", "5", "321-325"),
        ),
        (
            "Wang M, Zhao L. Serum lipids in hypothyroidism[J]. Chin J Intern Med, 2018, 57(2): 101-104.",
            ("Chin J Intern Med", 2018, "57", "2", "101-104"),
        ),
    ],
)
def test_chinese_journal_citations_beyond_the_listed_name_endings(
    step: ExtractStep, line: str, expected: tuple[object, ...]
) -> None:
    doc = text_dump(
        [
            ("paragraph", line),
            ("paragraph", "肺康复效果观察研究报告"),
            ("paragraph", "目的 观察肺康复的效果。"),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert tuple(meta.get(key) for key in ("journal", "year", "volume", "issue", "pages")) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("957-80", None, "957-980"),
        ("211 – 19", None, "211-219"),
        ("1234", "45", "1234-1245"),
        ("e123-e25", None, "e123-e125"),
        ("98-102", None, "98-102"),
        ("1299-05", None, "1299-05"),  # no later page to fill in: left as written
        ("e250418", None, "e250418"),
    ],
)
def test_shortened_page_ranges_are_written_in_full(first: str, last: str | None, expected: str) -> None:
    assert page_range(first, last) == expected


def test_a_citation_line_and_meta_tags_give_full_page_ranges(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "N Engl J Med. 2021 Mar 4;384(9):957-80. doi: 10.1056/NEJMoa2030000."),
            ("paragraph", "Statins for primary prevention in older adults."),
            ("paragraph", "We randomised 2000 adults."),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["pages"] == "957-980"
    doc = make_doc(
        [("paragraph", "Some text.")], {"citation_firstpage": ["1234"], "citation_lastpage": ["45"]}
    )
    step.process(doc)
    assert doc.fields["metadata"]["pages"] == "1234-1245"


def test_pubmed_identifiers_after_the_abstract_with_a_tag_and_a_doi_line_taken_for_a_heading(
    step: ExtractStep,
) -> None:
    doc = text_dump(
        [
            ("list_item", "Lancet. 2019 Oct 12;394(10206):1365-75. doi: 10.1016/S0140-6736(19)31786-6."),
            ("paragraph", "Effect of blood pressure lowering on stroke outcomes: a randomised trial."),
            ("paragraph", "We randomised 1000 patients."),
            ("heading", "DOI: 10.1016/S0140-6736(19)31786-6"),
            ("paragraph", "PMID: 31524532 [Indexed for MEDLINE]"),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    assert doc.fields["metadata"]["pmid"] == "31524532"


def test_a_bilingual_header_after_a_citation_line_gives_both_titles(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Chin J Endocrinol Metab, 2020, 36(5): 321-325"),
            ("paragraph", "甲状腺功能减退症患者血脂水平分析"),
            ("paragraph", "Analysis of serum lipids in patients with hypothyroidism"),
            ("paragraph", "王明，赵亮"),
            ("paragraph", "目的 分析甲状腺功能减退症患者的血脂水平。"),
            ("paragraph", "Objective To analyse serum lipids in hypothyroidism."),
        ],
        abstract_lines=(4, 5),
    )
    step.process(doc)
    assert doc.fields["title"] == {
        "zh": "甲状腺功能减退症患者血脂水平分析",
        "en": "Analysis of serum lipids in patients with hypothyroidism",
    }


def test_an_english_masthead_over_a_chinese_one_is_a_citation_line_and_no_title(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Chinese Journal of Practical Internal Medicine, Mar. 2021, Vol. 41, No. 3"),
            ("paragraph", "中国实用内科杂志 2021年3月第41卷第3期"),
            ("paragraph", "老年慢性心力衰竭患者营养状况评估"),
            ("paragraph", "赵一，钱二"),
            ("paragraph", "目的 评估老年慢性心力衰竭患者营养状况。"),
        ],
        abstract_lines=(4,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert (meta["journal"], meta["year"], meta["volume"], meta["issue"]) == (
        "Chinese Journal of Practical Internal Medicine",
        2021,
        "41",
        "3",
    )
    assert doc.fields["title"] == {"en": None, "zh": "老年慢性心力衰竭患者营养状况评估"}


@pytest.mark.parametrize(
    "line",
    [
        "Chin J Pract Intern Med, Mar. 2021, Vol. 41, No. 3",
        "Chin J Pract Intern Med, Vol. 41, No. 3, Mar. 2021",
    ],
)
def test_english_masthead_with_the_date_before_or_after_the_volume(step: ExtractStep, line: str) -> None:
    doc = text_dump(
        [
            ("paragraph", line),
            ("paragraph", "老年慢性心力衰竭患者营养状况评估"),
            ("paragraph", "目的 评估营养状况。"),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    found = (meta["journal"], meta["year"], meta["volume"], meta["issue"], meta["published"])
    assert found == ("Chin J Pract Intern Med", 2021, "41", "3", "2021-03")


def test_stacked_masthead_lines_are_no_second_language_title(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Chinese Journal of Practical Internal Medicine"),
            ("paragraph", "Vol. 41 No. 3"),
            ("paragraph", "Mar. 2021"),
            ("paragraph", "慢性肾脏病患者贫血治疗现状"),
            ("paragraph", "孙三，李四"),
            ("paragraph", "目的 了解慢性肾脏病患者贫血治疗现状。"),
        ],
        abstract_lines=(5,),
    )
    step.process(doc)
    assert doc.fields["title"] == {"en": None, "zh": "慢性肾脏病患者贫血治疗现状"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Cite this article: Garcia M, Patel R. Early mobilisation after hip fracture surgery. "
            "BMC Med. 2020;18:123. doi:10.1186/s12916-020-01580-5",
            ("BMC Med", 2020, "18", None, "123"),
        ),
        (
            "Citation: Smith A, Jones B, Lee C (2021) Mindfulness training for back pain. "
            "PLoS ONE 16(3): e0248123. https://doi.org/10.1371/journal.pone.0248123",
            ("PLoS ONE", 2021, "16", "3", "e0248123"),
        ),
        (
            "Citation: Nguyen T and Brown K (2022) Telehealth follow-up after cardiac surgery. "
            "Front. Cardiovasc. Med. 9:845612. doi: 10.3389/fcvm.2022.845612",
            ("Front. Cardiovasc. Med.", 2022, "9", None, "845612"),
        ),
    ],
)
def test_labelled_reference_lines_give_the_journal_after_authors_and_title(
    step: ExtractStep, line: str, expected: tuple[object, ...]
) -> None:
    doc = text_dump(
        [
            ("paragraph", "Mindfulness training for chronic low back pain"),
            ("paragraph", line),
            ("paragraph", "We randomised 300 adults with chronic low back pain."),
        ],
        abstract_lines=(2,),
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert tuple(meta.get(key) for key in ("journal", "year", "volume", "issue", "pages")) == expected
    assert doc.fields["title"]["en"] == "Mindfulness training for chronic low back pain"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("中国老年学杂志, 2021, 41(6): 1201-1204", ("中国老年学杂志", 2021, "41", "6", "1201-1204")),
        (
            "Journal of Integrative Medicine, Vol 18, Iss 2, Pp 101-109 (2020)",
            ("Journal of Integrative Medicine", 2020, "18", "2", "101-109"),
        ),
        (
            "Journal of Integrative Medicine, 18, 2",
            ("Journal of Integrative Medicine", None, None, None, None),
        ),
    ],
)
def test_a_dc_source_tag_holding_a_citation_gives_the_journal_name(
    step: ExtractStep, source: str, expected: tuple[object, ...]
) -> None:
    doc = make_doc([("paragraph", "Some text.")], {"dc.source": [source]})
    step.process(doc)
    meta = doc.fields["metadata"]
    assert tuple(meta.get(key) for key in ("journal", "year", "volume", "issue", "pages")) == expected


def test_a_month_and_year_citation_date_and_one_citation_authors_tag(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")],
        {"citation_date": ["March 2020"], "citation_authors": ["Rossi, Marco; Bianchi, Laura"]},
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert (meta["published"], meta["year"]) == ("2020-03", 2020)
    assert meta["authors"] == ["Rossi, Marco", "Bianchi, Laura"]


def test_a_labelled_byline_is_passed_over_for_the_title_and_gives_the_authors(step: ExtractStep) -> None:
    doc = text_dump(
        [
            ("paragraph", "Effects of vitamin C on sepsis mortality"),
            ("paragraph", "Authors: Adams J, Baker K, Clark L"),
            ("paragraph", "Journal of Critical Care. 2021;61:12-18."),
            ("paragraph", "We randomised 400 patients with sepsis."),
        ],
        abstract_lines=(3,),
    )
    step.process(doc)
    assert doc.fields["title"]["en"] == "Effects of vitamin C on sepsis mortality"
    assert doc.fields["metadata"]["authors"] == ["Adams J", "Baker K", "Clark L"]
