"""Exceptions raised by numba_ad."""

from __future__ import annotations


class BranchChangedError(ValueError):
    """A replay left the control flow recorded on the tape.

    Attributes
    ----------
    guard : int
        Index of the first guard whose outcome changed (guards are numbered in recording order).
    comparison : str
        The comparison, such as ``x[0] > 0.5``.
    location : str
        ``file:line`` of the user code that made the comparison.
    """

    def __init__(self, guard: int, comparison: str, location: str, recorded: bool) -> None:
        self.guard = guard
        self.comparison = comparison
        self.location = location
        self.recorded = recorded
        super().__init__(
            f"branch changed: `{comparison}` was {recorded} when the tape was recorded and is "
            f"{not recorded} at this point (guard {guard}, made at {location}). The tape is only "
            "valid on the recorded branch: record again at this point (ad.trace(f, x)), or use "
            "ad.function(f) or the wrappers (ad.grad, ad.value_and_grad, ad.jacobian), which keep "
            "a tape per branch and trace again when needed."
        )

    def __reduce__(self):
        # its own arguments, not the message: raised on a Dask worker, it is pickled back to the caller
        return type(self), (self.guard, self.comparison, self.location, self.recorded), self.__dict__


class KernelArgumentError(TypeError):
    """An argument of a numba_ad kernel (a ``numba_ad.nb`` function, a compiled tape's module) has
    a type the kernel does not take: raised while numba compiles the call, so from Python at the
    call and from @njit code when the caller compiles. It is a TypeError and not numba's
    TypingError on purpose: numba lets exceptions that are not its own pass through typing
    unchanged, where it would bury a TypingError under its list of candidate signatures."""


class BranchChangedWarning(UserWarning):
    """ad.function(f, on_branch_change="warn") traced f again because x left every cached branch."""


class OffBranchSignal(BranchChangedError):
    """What a compiled tape's kernels raise when a guard's outcome changed. The kernels do
    not know which guard changed first; CompiledTape's methods replace this error with the
    one the tape gives (which guard, where), the raw ``gradient_kernel`` raises it as is."""

    def __init__(self) -> None:
        ValueError.__init__(
            self,
            "branch changed: x left the control flow recorded on the compiled tape "
            "(tape.check(x) names the guard; CompiledTape.gradient(x) raises with it)",
        )
        self.guard = self.comparison = self.location = self.recorded = None

    def __reduce__(self):
        return type(self), (), self.__dict__
