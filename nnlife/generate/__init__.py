"""The generation side (needs torch): from a search space to lifespan tables.

``sampling`` (sample a network and its training), ``network`` (the torch module), ``readers`` and
``locate`` and ``data`` (the dataset files, found, checked and loaded as tensors), ``train`` (one
lifespan, the training loop) and ``checkpoint``; a batch on Dask split by concern: ``plan``
(which lifespans), ``manifest``, ``task`` (one lifespan, written atomically), ``cluster`` (where
the tasks run) and ``batch`` (``generate_batch``); ``reproduce`` (replay a table).
"""
