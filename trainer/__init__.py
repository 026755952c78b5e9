"""TinyFIM trainer: corpus, tinypy, tokenizer, dataset, training, ONNX export, evaluation."""

__version__ = "0.1.0"
