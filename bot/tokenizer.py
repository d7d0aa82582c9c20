"""Jieba tokenizer that never emits whitespace tokens.

Rasa's JiebaTokenizer keeps the blanks jieba produces for mixed Chinese and
English text ("申请 API 接口" → "申请", " ", "API", …).  Blank tokens break
DIET's featurizers (RasaHQ/rasa#7910), and `token_pattern` cannot remove them,
so they are dropped here.  Everything else, including the domain dictionary in
`dictionary_path` (a directory: every file in it is a jieba user dictionary,
copied into the model), is Rasa's own behaviour.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

import privacy
from bot import rasa_patches


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class CleanJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens.

    Built once when the Rasa server loads (or trains) the model: that is the Rasa process's start-up hook for log
    masking (user texts reach Rasa's logs at DEBUG level, and tracebacks carry trackers) and for our patches to
    Rasa internals (`bot/rasa_patches.py`).
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        privacy.install_log_masking()
        rasa_patches.apply()

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        return [token for token in tokens if token.text.strip()]
