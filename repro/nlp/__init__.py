"""SemEval-2018 Task 7 (semantic relations in scientific abstracts): reader, official-equivalent
scorer, features, word2vec embeddings, CNN/RNN models, ensembles, subtask-1 classification and
the subtask-2 extraction pipeline. The ``semeval`` chain's driver is :mod:`repro.papers.semeval`.

Modules: :mod:`~repro.nlp.reader` (files, splits), :mod:`~repro.nlp.scorer`,
:mod:`~repro.nlp.features` (spans, markers, positions, encoding), :mod:`~repro.nlp.embeddings`,
:mod:`~repro.nlp.models` (Keras networks), :mod:`~repro.nlp.ensemble` (training members,
combining them), :mod:`~repro.nlp.classify` (subtask 1), :mod:`~repro.nlp.extract` (subtask 2).
Every public name of the modules is importable from here (``from repro.nlp import score``).
Importing the package imports neither TensorFlow nor gensim; the functions that need them
import them when called.
"""
from .classify import classify_key_pairs, encode_relations, macro_f1, to_type_probs
from .embeddings import (ACL_DATASET, CORPORA, acl_abstracts, build_corpus, cached_word2vec, corpus, corpus_digest,
                         nearest, train_word2vec, vocabulary_and_matrix)
from .ensemble import (MemberRuns, TrainConfig, balanced_class_weights, combine, ensemble_probs, fit_predict,
                       mean_probs, member_probs, train_members, upsample_indices)
from .extract import (DIRECTIONAL_LABELS, Candidates, best_threshold, build_candidates, coverage, directional_label,
                      f1_at, predict_relations, relation_from_label)
from .features import (MARKERS, PAD, UNK, Encoded, Span, Tokenized, candidate_pairs, encode, n_positions, normalize,
                       pair_span, relation_spans, sentences, span_lengths, swapped_label, text_sentences, tokenize)
from .models import build, build_cnn, build_rnn, configure
from .reader import (DATASET, ENTITY_ID, FILES, RELATION_TYPES, SYMMETRIC, Document, Entity, Relation,
                     SemEvalFormatError, Split, check_entities, entity_number, hold_out, load_all, load_split,
                     parse_relation, read_abstracts, read_relations, subsample_docs, write_relations)
from .scorer import (OFFICIAL_LABELS, Scores, ScorerError, check_known_entities, instance_id, official_line,
                     parse_line, score, score_files, score_lines)

__all__ = [
    "classify_key_pairs", "encode_relations", "macro_f1", "to_type_probs",
    "ACL_DATASET", "CORPORA", "acl_abstracts", "build_corpus",
    "cached_word2vec", "corpus", "corpus_digest", "nearest", "train_word2vec", "vocabulary_and_matrix",
    "MemberRuns", "TrainConfig", "balanced_class_weights", "combine", "ensemble_probs", "fit_predict", "mean_probs",
    "member_probs", "train_members", "upsample_indices",
    "DIRECTIONAL_LABELS", "Candidates", "best_threshold", "build_candidates", "coverage", "directional_label", "f1_at",
    "predict_relations", "relation_from_label",
    "MARKERS", "PAD", "UNK", "Encoded", "Span", "Tokenized", "candidate_pairs", "encode", "n_positions", "normalize",
    "pair_span", "relation_spans", "sentences", "span_lengths", "swapped_label", "text_sentences", "tokenize",
    "build", "build_cnn", "build_rnn", "configure",
    "DATASET", "ENTITY_ID", "FILES", "RELATION_TYPES", "SYMMETRIC", "Document", "Entity", "Relation",
    "SemEvalFormatError", "Split", "check_entities", "entity_number", "hold_out", "load_all", "load_split",
    "parse_relation", "read_abstracts", "read_relations", "subsample_docs", "write_relations",
    "OFFICIAL_LABELS", "Scores", "ScorerError", "check_known_entities", "instance_id", "official_line",
    "parse_line", "score", "score_files", "score_lines",
]
