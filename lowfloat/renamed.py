"""Old spellings of the public API, refused with an error that names the new one.

lowfloat is at version 0.x and renames without a deprecation period: a call
or attribute that uses an old name fails at once, and the message says what
to write instead.  Every renamed keyword argument and attribute is declared
beside the function or class that renamed it, with one of the two functions
below -- none is checked by hand.
"""

from __future__ import annotations

import functools

__all__ = ["renamed_keywords", "renamed_attribute_error"]


def renamed_keywords(**renames: str):
    """Decorate a function so that its old keyword arguments raise TypeError naming the new ones.

    Parameters
    ----------
    **renames : str
        ``old="new"``: the keyword ``old`` was renamed to ``new``.

    Examples
    --------
    >>> @renamed_keywords(elem_fmt="fmt")
    ... def block(x, fmt):
    ...     return fmt
    >>> block(1, fmt="e4m3")
    'e4m3'
    >>> block(1, elem_fmt="e4m3")
    Traceback (most recent call last):
    ...
    TypeError: block() got the old keyword 'elem_fmt'; use fmt=
    """

    def decorate(function):
        @functools.wraps(function)  # keeps the signature and docstring for help() and the doctests
        def checked(*args, **kwargs):
            for old in renames.keys() & kwargs.keys():
                raise TypeError(f"{function.__name__}() got the old keyword {old!r}; use {renames[old]}=")
            return function(*args, **kwargs)

        checked.renamed_keywords = dict(renames)
        return checked

    return decorate


def renamed_attribute_error(owner: str, name: str, renames: dict[str, str]) -> AttributeError:
    """The AttributeError for ``owner.name``: naming the new spelling if ``name`` is an old one.

    For a class's ``__getattr__``, which Python calls only for names the
    class does not have.

    Examples
    --------
    >>> renamed_attribute_error("BlockArray", "scales", {"scales": "scale"})
    AttributeError("BlockArray has no attribute 'scales'; it was renamed: use .scale")
    >>> renamed_attribute_error("BlockArray", "colour", {"scales": "scale"})
    AttributeError("BlockArray has no attribute 'colour'")
    """
    if name in renames:
        return AttributeError(f"{owner} has no attribute {name!r}; it was renamed: use .{renames[name]}")
    return AttributeError(f"{owner} has no attribute {name!r}")
