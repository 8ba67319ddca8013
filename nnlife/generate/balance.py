"""Balanced batches: which lifespan to start first, and how much the workers idled at the end.

A batch's lifespans differ in cost by two orders of magnitude (the FLOPs of ``small`` networks
span that much), and a batch ends when its last lifespan ends. Started in index order, the last
task can be a large network training alone while every other worker waits. So ``generate_batch``
submits the lifespans largest first, by ``lifespan_cost`` (known from the specs before training),
with Dask priorities: this is the longest-processing-time-first rule, whose span is within 4/3 of
the best possible one (Graham 1969), and in practice leaves only short tasks for the end.

``order="cheapest-first"`` turns the rule around, for runs that will be cut short (a Slurm
allocation's walltime, a session's end): as many lifespans as possible finish early, and the big
ones continue from their checkpoints in a later run; the batch's final span is longer.

``tail_idle`` measures the result: of the time the workers were there to work, the share they
spent idle after their own last lifespan while others were still training. Pure Python, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError
from ..spec import NetSpec, TrainSpec

BACKWARD_FACTOR = 3  # forward + backward pass ~ 3 x the forward FLOPs (backward: grads of inputs and weights)


def lifespan_cost(net, train, n_train: int, n_val: int) -> float:
    """Estimated FLOPs of one lifespan: ``flops_per_image x (3 x n_train + n_val / eval_interval)
    x epochs`` (each epoch trains on n_train images, forward and backward, and every record
    evaluates the n_val validation images once, forward only).

    net, train: a NetSpec and TrainSpec, or their ``to_dict()`` forms (as in ``LifespanJob``).
    n_train, n_val: training images per epoch and validation images of the batch.
    An estimate for ordering, not a time: small networks also pay a per-batch overhead that
    FLOPs do not see.
    """
    net = net if isinstance(net, NetSpec) else NetSpec.from_dict(net)
    train = train if isinstance(train, TrainSpec) else TrainSpec.from_dict(train)
    per_epoch = BACKWARD_FACTOR * n_train + n_val / train.eval_interval
    return float(net.flops_per_image) * per_epoch * float(train.epochs)


def largest_first(jobs, n_train: int, n_val: int) -> list[tuple]:
    """``[(job, cost, priority), ...]`` sorted by estimated cost, largest first (ties keep the
    batch order). ``priority`` is the Dask priority to submit the job with: higher runs first,
    and equal costs get the same priority, so Dask keeps their submission order."""
    costs = [lifespan_cost(j.net, j.train, n_train, n_val) for j in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -costs[i])  # stable: ties in batch order
    distinct = sorted(set(costs))
    rank = {c: r for r, c in enumerate(distinct)}  # 0 = cheapest
    return [(jobs[i], costs[i], rank[costs[i]]) for i in order]


ORDERS = ("largest-first", "cheapest-first")  # the orders generate_batch submits lifespans in


def ordered(jobs, n_train: int, n_val: int, order: str = "largest-first") -> list[tuple]:
    """``largest_first``'s ``[(job, cost, priority), ...]`` in ``order`` (one of ``ORDERS``): for
    "cheapest-first" reversed, with priorities that start the cheapest first. ParameterError for
    another order."""
    if order not in ORDERS:
        raise ParameterError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    big = largest_first(jobs, n_train, n_val)
    if order == "largest-first":
        return big
    top = max((p for _, _, p in big), default=0)
    return [(job, cost, top - priority) for job, cost, priority in reversed(big)]


@dataclass(frozen=True)
class TailIdle:
    """How evenly a run's lifespans filled its workers."""

    workers: int  # workers that trained at least one lifespan in the run
    span_s: float  # seconds from the first lifespan's start to the last one's end
    busy_s: float  # summed seconds of training (all workers)
    tail_idle_s: float  # summed seconds each worker waited after its last lifespan until the end
    tail_idle_share: float  # tail_idle_s / (workers x span_s): 0 = all ended together
    idle_share: float  # 1 - busy_s / (workers x span_s): all idle time (also between tasks)


def tail_idle(records) -> TailIdle | None:
    """The idle share at the tail of a run from its trained lifespans.

    records: ``(worker, started_at, finished_at)`` per lifespan trained in the run, times in
    seconds (e.g. Unix time; workers on several hosts assume synchronised clocks).
    Returns None when nothing was trained.
    """
    records = [(str(w), float(s), float(e)) for w, s, e in records]
    if not records:
        return None
    start = min(s for _, s, _ in records)
    end = max(e for _, _, e in records)
    last: dict[str, float] = {}
    busy = 0.0
    for w, s, e in records:
        last[w] = max(last.get(w, s), e)
        busy += e - s
    span = end - start
    capacity = len(last) * span
    tail = sum(end - t for t in last.values())
    return TailIdle(
        workers=len(last),
        span_s=span,
        busy_s=busy,
        tail_idle_s=tail,
        tail_idle_share=tail / capacity if capacity > 0 else 0.0,
        idle_share=max(0.0, 1 - busy / capacity) if capacity > 0 else 0.0,
    )


__all__ = ["lifespan_cost", "largest_first", "tail_idle", "TailIdle", "BACKWARD_FACTOR"]
