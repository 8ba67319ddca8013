"""Reports: every figure, the interactive explorer, the notebooks and the notebook runner.

``style`` (the shared look), ``curves`` and ``structure`` (the figures of the two analysis
reports), ``lifespan`` (one network, a batch, a replay), ``explorer`` (the JupyterLab widget),
``notebook`` (the notebooks' common opening, ``open_analysis``), ``runner`` (papermill and
nbconvert: ``render_reports``) and ``notebooks/`` (the notebooks themselves, package data).
Figures read tables only: nothing here imports torch or ``nnlife.generate``.
"""
