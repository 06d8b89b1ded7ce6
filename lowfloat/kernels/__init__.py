"""Numba kernels: arrays, scalars and small layout tuples in; codes travel as unsigned integers.

Nothing here validates user input -- the wrappers in :mod:`lowfloat.codec` do.
"""
