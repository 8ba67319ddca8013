"""The analysis side: it reads tables and never imports torch or ``nnlife.generate``.

``catalog`` (many tables as one DataFrame, with ``cache``), ``long`` (long-form curves as arrays),
``lifecycle`` (features of a curve), ``shapes`` (shape classes), ``families`` and ``fitting``
(parametric curve families and their fits), ``predict`` (early prediction of final fitness),
``structure`` (structure features and correlations), ``synthetic`` (curves with known shapes).
"""
