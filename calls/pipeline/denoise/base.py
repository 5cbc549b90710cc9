"""The denoiser interface and the registry of denoisers by name."""

from __future__ import annotations

from collections.abc import Callable


class DenoiserError(Exception):
    """A denoiser that cannot run here (its package or model is missing, a bad rate)."""


class Denoiser:
    """One call's noise suppressor (it keeps state between frames: one instance per call)."""

    name = "none"
    #: The fixed delay of the cleaned audio behind the input, in samples at the call's rate.
    delay_samples = 0

    def process(self, frame: bytes) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Free native state; `process` must not be called after."""


_REGISTRY: dict[str, Callable[..., Denoiser]] = {}


def register(name: str, factory: Callable[..., Denoiser]) -> None:
    """`factory(sample_rate, **options)` makes one call's denoiser."""
    _REGISTRY[name] = factory


def names() -> list[str]:
    return sorted(_REGISTRY)


def denoiser_for(name: str | None, sample_rate: int, **options) -> Denoiser | None:
    """A new denoiser `name` for a call at `sample_rate` (with its `options`), or None for "" / "none" / "off"."""
    if not name or name in ("none", "off"):
        return None
    factory = _REGISTRY.get(name)
    if factory is None:
        raise DenoiserError(f"unknown noise suppression {name!r}; known: {', '.join(names()) or 'none'}")
    try:
        return factory(sample_rate, **options)
    except TypeError as exc:  # an option the denoiser does not know (the agent's settings are typed by hand)
        raise DenoiserError(f"noise suppression {name!r}: {exc}") from exc

