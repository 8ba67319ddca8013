"""Panels for labelling curve shapes by eye (data/reference/shape-labels.csv, issue 14 part 5).

Draws every table of the reference corpus that shape-labels.csv does not list yet, 12 panels per
PNG: validation accuracy on 0-100 % with the 10 % chance line, validation and training loss on a
second axis. Nothing of the classifier is computed or shown, so a label is decided before the
classifier's is seen.

    .venv/bin/python scripts/label-panels.py --out /tmp/panels     # then look at /tmp/panels/*.png
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nnlife  # noqa: E402
from nnlife.analyse.shape_labels import read_shape_labels  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for the PNG pages")
    ap.add_argument("--per-page", type=int, default=12)
    args = ap.parse_args()
    labelled = set(read_shape_labels(REFERENCE / "shape-labels.csv")["file"])
    files = sorted(
        str(p.relative_to(REFERENCE))
        for p in REFERENCE.glob("*/*.txt")
        if str(p.relative_to(REFERENCE)) not in labelled
    )
    if not files:
        print("every table in data/reference/ is labelled")
        return
    cat = nnlife.load_catalog([REFERENCE / f for f in files], cache=False)
    curves = cat.curves
    ids = [Path(f).stem for f in files]
    args.out.mkdir(parents=True, exist_ok=True)
    for page in range(0, len(ids), args.per_page):
        chunk = ids[page : page + args.per_page]
        fig, axes = plt.subplots(3, 4, figsize=(16, 10), dpi=70, squeeze=False)
        for ax, cid in zip(axes.flat, chunk, strict=False):
            c = curves[curves["id"] == cid]
            ax.plot(c["epoch"], c["val_acc"], color="C0", label="val acc")
            ax.axhline(10, color="grey", lw=0.8, ls=":")
            ax.set_ylim(0, 100)
            ax.set_title(f"{ids.index(cid)}: {cid}", fontsize=9)
            ax2 = ax.twinx()
            ax2.plot(c["epoch"], c["val_loss"], color="C3", lw=0.8, label="val loss")
            ax2.plot(c["epoch"], c["train_loss"], color="C2", lw=0.8, label="train loss")
            ax2.set_ylim(0, max(2.5, float(c[["val_loss", "train_loss"]].clip(upper=5).max().max())))
        for ax in list(axes.flat)[len(chunk) :]:
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.out / f"panels-{page // args.per_page:02d}.png")
        plt.close(fig)
    (args.out / "index.txt").write_text("".join(f"{i} {f}\n" for i, f in enumerate(files)))
    print(f"{len(files)} unlabelled tables drawn into {args.out}")


if __name__ == "__main__":
    main()
