"""Scaled formats: low-precision codes plus the scales that map them back to values.

One module per idea, each building on the ones before it:

``integer``  int8 / int4 / mxint8 element formats, and element-format lookup
``packing``  FP4 / FP6 / INT4 codes packed into bytes
``blocks``   block and tile scaling (DeepSeek-V3); the scale rules shared with MX
``scaled``   per-tensor / per-axis scaling (Transformer Engine)
``mx``       OCP MX formats and NVFP4

A *scale* is everywhere the multiplier that dequantizes, ``x ~ element *
scale``.  The public names are ``lowfloat``'s own (``lowfloat.mx_quantize``,
``lowfloat.pack`` ...), each imported from its module on first use; this
package's ``__init__`` imports nothing, so that ``lowfloat.pack`` does not
load the block quantizers.
"""
