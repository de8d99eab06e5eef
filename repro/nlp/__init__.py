"""SemEval-2018 Task 7 (semantic relations in scientific abstracts): reader, scorer, features,
CNN/RNN models, ensembles and the subtask-2 extraction pipeline of the ``semeval`` chain."""
