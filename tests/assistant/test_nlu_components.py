"""Chinese-specific behaviour of the NLU pipeline's components."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.tokenizer import CleanJiebaTokenizer
from settings import ROOT


def _tokenizer(tmp_path) -> CleanJiebaTokenizer:
    config = {**CleanJiebaTokenizer.get_default_config(), "dictionary_path": str(ROOT / "data/jieba_dict")}
    return CleanJiebaTokenizer.create(
        config, LocalModelStorage(tmp_path), Resource("tokenizer"), ExecutionContext(None)
    )


def test_mixed_chinese_english_has_no_blank_tokens(tmp_path):
    tokens = _tokenizer(tmp_path).tokenize(Message(data={"text": "有没有 API 接口的 公交 数据"}), "text")
    words = [t.text for t in tokens]
    assert words and all(w.strip() for w in words)
    assert "API" in words


def test_domain_dictionary_keeps_department_names_whole(tmp_path):
    tokens = _tokenizer(tmp_path).tokenize(Message(data={"text": "贵阳市交通委员会开放了哪些数据"}), "text")
    assert tokens[0].text == "贵阳市交通委员会"


def test_lookup_tables_match_inside_chinese_text(tmp_path):
    """Rasa wraps lookup entries in \\b by default, which never matches inside Chinese."""
    data = load_data(str(ROOT / "data/nlu"))  # lookups count only for entities annotated in examples
    storage, resource = LocalModelStorage(tmp_path), Resource("regex")
    extractor = RegexEntityExtractor.create(
        {**RegexEntityExtractor.get_default_config(), "use_word_boundaries": False},
        storage, resource, ExecutionContext(None),
    )
    extractor.train(data)
    message = Message(data={"text": "只要花溪区的市交委数据"})
    extractor.process([message])
    found = {(e["entity"], e["value"]) for e in message.get("entities")}
    assert ("district", "花溪区") in found
    assert ("department", "市交委") in found


def test_normalizer_simplifies_folds_width_and_collapses_punctuation(tmp_path):
    from bot.normalizer import TextNormalizer

    normalizer = TextNormalizer.create({}, LocalModelStorage(tmp_path), Resource("norm"), ExecutionContext(None))
    message = Message(data={"text": "醫療機構　名錄有嗎？？？ＡＰＩ　SQ-20261127-7K3M9Q"})
    normalizer.process([message])
    assert message.get("text") == "医疗机构 名录有吗?API SQ-20261127-7K3M9Q"  # case kept for the extractors


def test_normalizer_cuts_long_text_to_its_last_sentences(tmp_path, monkeypatch):
    from bot.normalizer import TextNormalizer

    monkeypatch.setenv("NLU_MAX_CHARS", "40")
    normalizer = TextNormalizer.create({}, LocalModelStorage(tmp_path), Resource("norm"), ExecutionContext(None))
    message = Message(data={"text": "我家住在花溪区。" * 30 + "请问有没有公交线路的数据？"})
    normalizer.process([message])
    text = message.get("text")
    assert text.endswith("请问有没有公交线路的数据?") and len(text) <= 40
    assert text.startswith("我家住在花溪区。")  # whole sentences only


def test_normalizer_keeps_entity_offsets_of_training_examples(tmp_path):
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.normalizer import TextNormalizer

    normalizer = TextNormalizer.create({}, LocalModelStorage(tmp_path), Resource("norm"), ExecutionContext(None))
    entity = {"entity": "phone", "start": 4, "end": 15, "value": "13985012346"}
    shrinking = Message(data={"text": "我的电话13985012346！！！", "intent": "inform", "entities": [entity]})
    same_length = Message(data={"text": "我的電話13985012346", "intent": "inform", "entities": [entity]})
    plain = Message(data={"text": "好的。。。", "intent": "affirm"})
    normalizer.process_training_data(TrainingData([shrinking, same_length, plain]))
    assert shrinking.get("text") == "我的电话13985012346！！！"  # would move the offsets: left as written
    assert same_length.get("text") == "我的电话13985012346"
    assert plain.get("text") == "好的。"
