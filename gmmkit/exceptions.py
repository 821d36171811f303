"""Warnings and errors raised by gmmkit."""


class ConvergenceWarning(UserWarning):
    """No EM run reached the tolerance within max_iter iterations.

    Same meaning as scikit-learn's ``sklearn.exceptions.ConvergenceWarning``
    (gmmkit does not import scikit-learn, so it is a separate class; filter
    both, or filter ``UserWarning``, to silence either).
    """


class DegenerateComponentWarning(UserWarning):
    """A component collapsed or lost its mass and was floored or re-seeded."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    Subclasses both ValueError and AttributeError, as scikit-learn's does.
    """
