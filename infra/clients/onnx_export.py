"""all-MiniLM-L6-v2 as ONNX: exported offline from the shipped weights, optimized, quantized, cached.

``ensure_onnx_model(variant)`` returns the path of a ready ``.onnx`` file,
building it the first time (about 10-20 s on 2 cores, one log line):

1. ``torch.onnx.export`` of the transformer (``dynamo=False``, eager
   attention: the graph ONNX Runtime's transformer optimizer can fuse) from
   the wheel's safetensors; nothing is downloaded;
2. ORT's BERT optimizer (fused attention, layer norm, GELU): ``onnx-fp32``;
3. int8 dynamic quantization, per channel (the default per-tensor scheme
   drifts to a mean cosine of 0.93 against fp32; per channel keeps 0.99),
   the feed-forward down-projections left in fp32 (see ``_quantize``):
   ``onnx-int8``.

The graph outputs the token embeddings; pooling and normalization are done by
the embedder, as sentence-transformers does them.

The cache file's name carries everything that decides its bytes (the source
weights' hash, the torch and onnxruntime versions, the recipe version and the
variant), so an upgrade builds a new file instead of reading a stale one. It
is written to a temporary name and renamed into place: two processes building
at once both produce a whole file and the last rename wins.

``python -m infra.clients.onnx_export [--cache-dir DIR] [VARIANT ...]`` builds
ahead of time (``make setup`` does it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

VARIANTS = ("onnx-fp32", "onnx-int8")
# Bump when the recipe below changes what it writes.
RECIPE = "2"
OPSET = 17
NUM_HEADS, HIDDEN_SIZE = 12, 384  # all-MiniLM-L6-v2


def default_cache_dir() -> Path:
    """Inside the virtual environment (it goes with the installed onnxruntime), else the user's cache."""
    venv = Path(sys.prefix) / "tandem-cache" / "onnx"
    if sys.prefix != sys.base_prefix and os.access(sys.prefix, os.W_OK):
        return venv
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tandem" / "onnx"


@lru_cache(maxsize=4)
def _source_hash(model_dir: str) -> str:
    """SHA-256 of the weights and tokenizer: the source of the export."""
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        with open(Path(model_dir) / name, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:16]


def cache_key(model_dir: Path, variant: str) -> str:
    """The cache file's name: source hash, torch and onnxruntime versions, recipe and variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    torch_v = version("torch").split("+")[0]
    return f"minilm-l6-{_source_hash(str(model_dir))}-torch{torch_v}-ort{version('onnxruntime')}-r{RECIPE}-{variant}.onnx"


def ensure_onnx_model(variant: str, *, model_dir: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The path of the ``variant`` model file, built into ``cache_dir`` if it is not there yet.

    Args:
        variant: ``onnx-fp32`` (optimized) or ``onnx-int8`` (optimized, then quantized).
        model_dir: The sentence-transformers folder (default: the shipped wheel's).
        cache_dir: Where built files live (default ``default_cache_dir()``).

    Raises:
        ValueError: an unknown variant.
        OSError: the cache folder cannot be written.
    """
    from infra.clients.embedding import model_path

    model_dir = Path(model_dir or model_path())
    cache_dir = Path(cache_dir or default_cache_dir())
    target = cache_dir / cache_key(model_dir, variant)
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    fp32 = cache_dir / cache_key(model_dir, "onnx-fp32")
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
        work = Path(tmp)
        fused = work / "fused.onnx"
        if fp32.is_file():
            # A private name: the quantizer writes "<source>-inferred.onnx" next to its source.
            _link_or_copy(fp32, fused)
        else:
            _export(model_dir, work / "raw.onnx")
            _optimize(work / "raw.onnx", fused)
        if variant == "onnx-int8":
            _quantize(fused, work / "int8.onnx")
            os.replace(work / "int8.onnx", target)
        if not fp32.is_file():  # a by-product of the int8 build, kept: the fp32 variant then costs nothing
            os.replace(fused, fp32)  # same folder, so the rename is atomic: readers see no file or the whole file
    log.info("built the %s embedding model in %.1f s: %s", variant, time.perf_counter() - started, target)
    return target


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _export(model_dir: Path, out: Path) -> None:
    """The transformer of the sentence-transformers folder as ONNX (token embeddings out)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    class TokenEmbeddings(torch.nn.Module):
        """Keyword arguments only: the positional order of ``BertModel.forward`` changes across transformers versions."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    model = TokenEmbeddings().eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: its graph is the one ORT's optimizer fuses
        )


def _optimize(src: Path, out: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(str(src), model_type="bert", num_heads=NUM_HEADS, hidden_size=HIDDEN_SIZE).save_model_to_file(str(out))


def _quantize(src: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The feed-forward down-projections (``layer.N/output/dense``) read GELU outputs, whose
    # outliers a per-tensor activation scale handles badly: quantizing them too took the
    # worst cosine to fp32 on the test sentences from 0.992 to 0.982 and moved retrieval
    # by 1.5-3% on the golden sets. They stay fp32; everything else is int8.
    graph = onnx.load(str(src), load_external_data=False).graph
    keep_fp32 = [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name]
    # Not quant_pre_process: its shape inference fails on the fused graph.
    quantize_dynamic(
        str(src), str(out), per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=keep_fp32,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused ops leave some types unknown to the quantizer
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.clients.onnx_export", description="Build the ONNX embedding models ahead of time.")
    parser.add_argument("variants", nargs="*", metavar="VARIANT", help=f"default: all of {', '.join(VARIANTS)}")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: index.onnx_cache_dir (TANDEM_INDEX__ONNX_CACHE_DIR), else inside the venv")
    args = parser.parse_args(argv)
    if args.cache_dir is None:
        from infra.settings import get_settings

        args.cache_dir = get_settings().index.onnx_cache_dir
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    for variant in args.variants or VARIANTS:
        print(ensure_onnx_model(variant, cache_dir=args.cache_dir))


if __name__ == "__main__":
    main()
