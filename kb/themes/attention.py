"""Where in a passage each theme shows: an attention per theme over the passage's token states.

The embedding model's pass over a passage leaves a contextual vector per token; the
search vector is their mean. A mean drowns the few words that carry a failure ("was
not shared", "never seen alone") in the rest of the passage, so each theme here
learns a query that picks its own tokens out, pools them, and scores the pool.
Learnt from labelled real passages (kb/themes/training.py) with torch; inference is
plain NumPy over the token states the embedder already computed, so tagging still
costs one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.themes.odds import sigmoid

EPOCHS = 20
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-3
DROPOUT = 0.3
BATCH = 32
MAX_POSITIVE_WEIGHT = 10.0
SEED = 0


@dataclass
class TokenAttention:
    theme_ids: list[str]
    norm_weight: np.ndarray  # (dimension,) layer norm applied to every token state
    norm_bias: np.ndarray  # (dimension,)
    query: np.ndarray  # (themes, dimension) what each theme attends to
    output: np.ndarray  # (themes, dimension) how it scores what it pooled
    bias: np.ndarray  # (themes,)

    def probabilities(self, tokens: list[np.ndarray]) -> np.ndarray:
        """(passages, themes) probabilities from each passage's (tokens, dimension) states."""
        probs = np.zeros((len(tokens), len(self.theme_ids)), dtype=np.float32)
        for i, states in enumerate(tokens):
            if not len(states):
                continue
            h = _layer_norm(np.asarray(states, dtype=np.float32)) * self.norm_weight + self.norm_bias
            logits = self.query @ h.T  # (themes, tokens)
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            pooled = weights @ h  # (themes, dimension)
            probs[i] = sigmoid((pooled * self.output).sum(axis=1) + self.bias)
        return probs

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Its parameters, named for an .npz file."""
        return {f"{prefix}_theme_ids": np.array(self.theme_ids), f"{prefix}_norm_weight": self.norm_weight,
                f"{prefix}_norm_bias": self.norm_bias, f"{prefix}_query": self.query, f"{prefix}_output": self.output,
                f"{prefix}_bias": self.bias}

    @classmethod
    def from_arrays(cls, data, prefix: str) -> "TokenAttention | None":
        if f"{prefix}_theme_ids" not in data or not len(data[f"{prefix}_theme_ids"]):
            return None
        return cls([str(t) for t in data[f"{prefix}_theme_ids"]], data[f"{prefix}_norm_weight"], data[f"{prefix}_norm_bias"],
                   data[f"{prefix}_query"], data[f"{prefix}_output"], data[f"{prefix}_bias"])

    @classmethod
    def fit(cls, tokens: list[np.ndarray], gold: np.ndarray, weights: np.ndarray, theme_ids: list[str]) -> "TokenAttention":
        """Fit on passages' token states, (passages, themes) labels and per-passage weights. Rare themes
        weigh their positives up (by the square root of their imbalance, at most MAX_POSITIVE_WEIGHT)."""
        import torch

        torch.manual_seed(SEED)
        dimension = tokens[0].shape[1]
        order = np.argsort([len(t) for t in tokens], kind="stable")  # batches of like length pad little
        batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
        padded = [_padded(tokens, batch, dimension) for batch in batches]
        labels = torch.tensor(gold.astype(np.float32))
        weight = torch.tensor(weights.astype(np.float32))
        positives = labels.sum(0)
        positive_weight = torch.clamp(torch.sqrt((len(tokens) - positives) / positives.clamp(min=1)), 1, MAX_POSITIVE_WEIGHT)
        norm = torch.nn.LayerNorm(dimension)
        query = torch.nn.Parameter(torch.randn(len(theme_ids), dimension) * 0.02)
        output = torch.nn.Parameter(torch.randn(len(theme_ids), dimension) * 0.02)
        bias = torch.nn.Parameter(torch.zeros(len(theme_ids)))
        dropout = torch.nn.Dropout(DROPOUT)
        optimiser = torch.optim.AdamW([*norm.parameters(), query, output, bias], lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        generator = np.random.default_rng(SEED)
        for _ in range(EPOCHS):
            for b in generator.permutation(len(batches)):
                states, mask = padded[b]
                rows = torch.from_numpy(batches[b])
                h = dropout(norm(states))
                attention = torch.einsum("bld,td->btl", h, query).masked_fill(~mask[:, None, :], -1e9).softmax(-1)
                logits = (torch.einsum("btl,bld->btd", attention, h) * output).sum(-1) + bias
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, labels[rows], pos_weight=positive_weight, reduction="none")
                loss = (loss.mean(1) * weight[rows]).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        as_array = lambda p: p.detach().numpy().astype(np.float32)  # noqa: E731
        return cls(list(theme_ids), as_array(norm.weight), as_array(norm.bias), as_array(query), as_array(output), as_array(bias))


def _padded(tokens: list[np.ndarray], rows: np.ndarray, dimension: int):
    import torch

    length = max(1, max(len(tokens[i]) for i in rows))
    states = np.zeros((len(rows), length, dimension), dtype=np.float32)
    mask = np.zeros((len(rows), length), dtype=bool)
    for k, i in enumerate(rows):
        states[k, : len(tokens[i])] = tokens[i]
        mask[k, : len(tokens[i])] = True
    mask[:, 0] = True  # a passage without tokens attends to padding rather than to nothing
    return torch.from_numpy(states), torch.from_numpy(mask)


def _layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
