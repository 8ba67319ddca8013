"""The device a lifespan trains on: "auto", "cpu", "cuda" or "cuda:N" resolved, named, recorded."""

from __future__ import annotations

import platform

from ..errors import ParameterError


def resolve_device(device="auto"):
    """``"auto"`` -> ``cuda`` when a GPU is available, else ``cpu``; any other name or
    ``torch.device`` as given (``"cuda"`` means the current GPU, ``cuda:N``).

    Raises ParameterError when a GPU is asked for and none is available.
    """
    import torch

    if device is None or str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(
                f"device {device!r} asked for, but torch sees no GPU here; use device='cpu' or 'auto'"
            )
        dev = torch.device("cuda", torch.cuda.current_device() if dev.index is None else dev.index)
    elif dev.type != "cpu":
        raise ParameterError(f"device {device!r} is not supported: use 'auto', 'cpu' or 'cuda[:N]'")
    return dev


def device_name(dev) -> str:
    """The CPU model or GPU name of a torch.device, for the table's provenance."""
    import torch

    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_label(dev) -> str:
    """The device as a TrainSpec records it: "cpu" or "cuda:N"."""
    return "cpu" if dev.type == "cpu" else f"{dev.type}:{dev.index}"


__all__ = ["resolve_device", "device_name", "device_label"]
