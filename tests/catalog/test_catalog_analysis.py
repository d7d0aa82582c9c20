"""Chinese analysis: normalisation, private tokenizer with the domain dictionary, synonyms, pinyin keys."""

from __future__ import annotations

import jieba

from catalog_index.analysis import (
    DOMAIN_DICT,
    Analyzer,
    build_domain_dictionary,
    get_analyzer,
    pinyin_key,
    read_synonyms,
    title_terms,
)
from catalog_index.query import words
from knowledge.retrieval import _Tokenizer
from textnorm import normalize
from tickets.demand import normalise_query


def test_normalize_traditional_full_width_and_case():
    assert normalize("醫療機構　名錄") == "医疗机构 名录"
    assert normalize("ＰＭ２．５  ＡＰＩ") == "pm2.5 api" == normalize("PM2。5 API")
    assert normalize("第2条。3月起施行") == "第2条。3月起施行"  # a full stop between sentences stays
    assert normalize("  公交\t数据 ") == "公交 数据"
    assert normalize("停 车 场 收 费") == "停车场收费" and normalize("充电 桩 分布") == "充电桩分布"  # a word spaced out
    assert normalize("计划停电 通知") == "计划停电 通知" and normalize("2018年 机动车") == "2018年 机动车"
    assert normalize(None) == ""


def test_one_normaliser_for_search_demand_report_and_knowledge_base(tmp_path):
    assert normalise_query("有沒有ＰＭ２．５ 醫院數據？") == "pm25医院"
    assert _Tokenizer(tmp_path)("第十一條 ＡＰＩ") == ["第十一条", "api"]


def test_private_tokenizer_uses_the_domain_dictionary_and_leaves_global_jieba_alone(tmp_path):
    analyzer = get_analyzer()
    assert analyzer.tokenizer is not jieba.dt
    assert "市交委" in analyzer.cut("市交委的数据")
    assert analyzer.is_word("宠物看病")  # a catalogue keyword from the generated dictionary
    path = tmp_path / "synonyms.txt"
    path.write_text("筑数测试词 => 公园\n", encoding="utf-8")
    assert Analyzer(synonyms_path=path).is_word("筑数测试词")
    assert jieba.dt.FREQ.get("筑数测试词", 0) == 0  # words added to our tokenizer never reach the global one


def test_search_mode_emits_words_inside_words():
    tokens = get_analyzer().index_tokens("电动汽车公共充电设施分布")
    assert {"电动汽车", "充电设施", "充电", "设施"} <= set(tokens)
    assert get_analyzer().index_tokens("PM2.5浓度") == ["pm2.5", "浓度"]


def test_synonyms_file_format(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\n看病, 就醫 => 医疗机构，医院\n充电 => 充电桩  # trailing comment\n", encoding="utf-8")
    synonyms = read_synonyms(path)
    assert synonyms == {"看病": ["医疗机构", "医院"], "就医": ["医疗机构", "医院"], "充电": ["充电桩"]}


def test_operator_synonyms_are_loaded(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("遛弯 => 公园\n", encoding="utf-8")
    analyzer = Analyzer(synonyms_path=path)
    assert analyzer.synonyms == {"遛弯": ["公园"]}
    assert "遛弯" in analyzer.cut("想去遛弯")
    assert get_analyzer().synonyms["坐地铁"] == ["轨道交通", "地铁"]


def test_generic_and_stop_words_are_loaded():
    analyzer = get_analyzer()
    assert {"数据", "信息", "名录", "查询"} <= analyzer.generic
    assert {"有没有", "哪里", "我想"} <= analyzer.stop


def test_question_framing_is_not_matched():
    # doubt, intention and relative time name no data: only the topic is left to match
    assert words(get_analyzer(), "想晓得明年对口哪个学校") == ["对口", "学校"]
    assert words(get_analyzer(), "朋友给我看的焊工证不知道是不是真的") == ["朋友", "焊工证"]


def test_domain_dictionary_generation():
    departments = [{"name": "贵阳市交通委员会", "short_names": ["市交委", "交委"]}]
    datasets = [{"title": "花溪区执业律师名录", "keywords": ["查律师", "PM2.5"], "fields": ["律师姓名"]}]
    words = build_domain_dictionary(departments, datasets, ["花溪区", "市本级"], ["交通出行"],
                                    frozenset({"名录", "信息"}))
    assert {"贵阳市交通委员会", "市交委", "交委", "花溪区", "花溪", "交通出行", "查律师", "律师姓名", "执业律师"} <= set(words)
    assert "pm2.5" not in words  # Latin runs are kept whole by the analyzer itself
    assert title_terms("公交线路首末班时间及发车间隔", frozenset({"信息"}), ["花溪区"]) == ["发车间隔"]  # 9-character core is too long


def test_generated_dictionary_is_committed():
    lines = DOMAIN_DICT.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1000 and all(len(line.split()) == 2 for line in lines)


def test_pinyin_keys_make_homophones_meet():
    assert pinyin_key("疫苗") == pinyin_key("医苗") == "yimiao"
    assert pinyin_key("幼儿园") == pinyin_key("幼儿圆")
    assert pinyin_key("api") == ""
