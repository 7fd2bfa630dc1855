"""Language models and text: the embedding model (sentence-transformers or ONNX Runtime), spaCy,
sentence splitting and section headings. The only package that loads a model.
"""
