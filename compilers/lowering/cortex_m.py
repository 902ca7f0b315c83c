"""int8 conv2d / depthwise_conv2d / fully_connected / add on Cortex-M DSP cores → the hand-written SMLAD kernels
in compilers/c/kernels/dsp/nn_s8.c, with everything layer-specific prepared here as derived constants.

Each `*_call` returns None when a layer is outside what the kernel handles exactly (batch > 1, a dilated
depthwise layer, depth multiplier, a multiplier whose shift the fast requantization cannot express, an
accumulator that could overflow once doubled); the rule then falls back to the TVM kernel, and the reason goes on record
(ctx.decline) for the compile report. What is folded at compile time:
  * the input zero point: start = bias - zp_in * sum(w), so the inner loop multiplies raw int8 inputs
    (padding reads zp_in, which then contributes exactly zp_in * w);
  * the requantization's doubling and left shift: int16 weights and start are multiplied by 2 << left_shift,
    so SMMULR gives TFLite's SaturatingRoundingDoublingHighMul directly; int8 weights cannot carry it, so
    their kernels (the _w8 entry points) shift the accumulator left by log2(2 << left_shift) instead, one
    shift per layer (a layer whose channels need different shifts keeps int16 weights);
  * the weights' order: int16 pairs, or int8 words of 4, laid out as the inner loop reads them (nn_s8.h).

Weight storage (`edgeai compile --weights`, LoweringContext.weights): "int8" (the default) stores the model's
int8 weights as they are, 4 to a word, and the kernels widen them (SXTB16): conv layers of several output pixels
widen each activation window once and reuse each widened weight pair for two pixels (fewer instructions than
int16's loop), depthwise layers widen each group of 4 channels' weights once per inference; "int16" stores them
pre-widened and pre-scaled (fewer instructions for fully connected and depthwise layers); "auto" picks int16 for
the layers where each added byte saves at least AUTO_INSTRUCTIONS_PER_BYTE instructions (AUTO_SAVED_PER_MAC),
int8 elsewhere. ctx.storage says per layer which one it got.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.tvm.requant import half_even_ties_possible

NN_FILE = "dsp/nn_s8.c"
_ARGS = "(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
_ADD_ARGS = "(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p, int8_t* output)"


def _entry(name: str, args: str, one_rounding: bool) -> tuple[str, str]:
    """(symbol, prototype): each requantization has its own entry point, so a firmware links only the one it uses."""
    symbol = name + ("_one_rounding" if one_rounding else "")
    return symbol, f"int32_t {symbol}{args}"


MAX_PATCH, MAX_TAPS, MAX_DW_CHANNELS = 1152, 64, 1024  # nn_s8.h
W16_WORDS = 1152  # nn_s8.c: EDGEAI_NN_W16_WORDS, the widened weights of a block of channel pairs (uint32 words)
WIDE_WORDS = 576  # nn_s8.c: EDGEAI_NN_WIDE_WORDS, the int8-weight kernels' widened activations (uint32 words)
TILE_CHANNELS = 256  # nn_s8.c: EDGEAI_NN_TILE_CHANNELS, the tiled kernel's sums carried between tiles (int32)
# Bytes each kernel keeps on the stack per call (nn_s8.c): conv's im2col patch; dwconv's zero row and tap
# pointers (4-byte pointers on these cores). It lives inside the firmware's stack reservation (edgeai.footprint).
# nn_s8.c: EDGEAI_DW_BATCH, the groups of 4 channels an int8-weight 3x3 depthwise widens on the stack at a time, 82
# words each (9 tap pairs x 2, 16 constants, the 48-word two-row stream).
DW_BATCH = 16
# The conv entry points (nn_s8.c, one per kernel variant; the _one_rounding ones share their base name's figure):
# the int16 window loop keeps one im2col patch; the int8 two-pixel and one-pixel tiles also the widened
# activations; the int16 pointwise loop nothing; the tiled kernels (windows longer than MAX_PATCH) the patch and the
# sums of TILE_CHANNELS output channels; the int8 two-pixel tiled kernel (longer windows than WIDE_WORDS bytes) a
# patch of WIDE_WORDS bytes, the widened activations and the sums of TILE_CHANNELS channels of two pixels.
CONV_VARIANTS = ("pw_clamped", "pw_skip", "pw_lower", "pw_unclamped", "pw", "clamped", "gather", "skip", "lower",
                 "window")
STACK_SCRATCH = {**{f"edgeai_conv_s8_{v}": 0 if v.startswith("pw") else MAX_PATCH for v in CONV_VARIANTS},
                 "edgeai_conv_s8_w8_2x2": MAX_PATCH + 4 * WIDE_WORDS, "edgeai_conv_s8_w8_1x4": MAX_PATCH + 4 * WIDE_WORDS,
                 "edgeai_conv_s8_w8_2x2_tiled": WIDE_WORDS + 4 * WIDE_WORDS + 8 * TILE_CHANNELS,
                 "edgeai_conv_s8_w8_2x2_widened": MAX_PATCH + 4 * WIDE_WORDS + 4 * W16_WORDS,
                 "edgeai_conv_s8_tiled": MAX_PATCH + 4 * TILE_CHANNELS,
                 "edgeai_conv_s8_w8_tiled": MAX_PATCH + 4 * TILE_CHANNELS,
                 "edgeai_dwconv_s8": MAX_DW_CHANNELS + 4 * MAX_TAPS,
                 "edgeai_dwconv_s8_w8": MAX_DW_CHANNELS + 4 * MAX_TAPS}
# the 3x3 entry points (dwconv_variant): the zero row; int8 weights also the widened batch (one pixel at a time:
# 34 words per group of 4 channels, no stream)
for _kind, _words in (("_3x3", 34), ("_3x3s1", 82)):
    for _clamp in ("", "_clamp"):
        STACK_SCRATCH[f"edgeai_dwconv_s8{_kind}{_clamp}"] = MAX_DW_CHANNELS
        STACK_SCRATCH[f"edgeai_dwconv_s8_w8{_kind}{_clamp}"] = MAX_DW_CHANNELS + 4 * _words * DW_BATCH
_INT32_MAX = (1 << 31) - 1
WEIGHT_STORAGES = ("int8", "int16", "auto")
# Instructions per MAC that int16 weights save over int8 (one byte more per weight, plus the depthwise two-row
# stream); "auto" stores a layer as int16 when at least AUTO_INSTRUCTIONS_PER_BYTE are saved per added byte. conv with
# the two-pixel int8 tile (w8_two_pixels, tiled or not): nothing (its 31 instructions per 32 MACs beat the int16
# loop's 17 per 16), so it stays int8; one pixel (fully connected) 18 against 16 per 16 MACs; one pixel over a window
# longer than MAX_PATCH (the tiled one-pixel int8 loop) 21 against 16. Depthwise 3x3 stride 1 (two-row kernel):
# measured on KWS, 227,040 against 217,635 instructions per 72,000-MAC layer (the int8 layer widens 16 groups of 4
# channels at a time, DW_BATCH; 273,285 when it reran the pixel loop per group); other depthwise layers: an estimate,
# the one-pixel kernel's former per-group overhead (0.25) scaled as the two-row kernel's went down (0.77 -> 0.13).
AUTO_INSTRUCTIONS_PER_BYTE = 16
AUTO_SAVED_PER_MAC = {"conv_two_pixels": 0.0, "conv_one_pixel": 0.125, "conv_long": 0.31, "dw_two_rows": 0.13,
                      "dw": 0.04}


def _storage(ctx, node, pixels: int, saved_per_mac: float, extra_bytes_per_weight: float) -> str:
    """The weight storage this layer gets: the compile option, with "auto" decided by instructions per byte."""
    choice = getattr(ctx, "weights", "int8")
    if choice != "auto":
        return choice
    return "int16" if saved_per_mac * pixels / extra_bytes_per_weight >= AUTO_INSTRUCTIONS_PER_BYTE else "int8"


def _bytes_words(w8: np.ndarray) -> np.ndarray:
    """int8 [..., 4k] → int32 [..., k]: four weights to a word, the first in the lowest byte (LDR order)."""
    return np.ascontiguousarray(w8.astype(np.int8)).view("<i4").astype(np.int32)


def _acc_shift(scale: np.ndarray, chan: np.ndarray) -> int | None:
    """log2 of the one scale every requantized channel shares (channels with multiplier 0 do not care), or None."""
    live = scale[chan[:scale.size, 1] != 0]
    shifts = {int(v).bit_length() - 1 for v in live} or {1}
    return shifts.pop() if len(shifts) == 1 else None


def _pairs(words16: np.ndarray) -> np.ndarray:
    """int16 [..., 2k] → int32 [..., k]: element 2i in the low half of word i, 2i+1 in the high half."""
    w = np.ascontiguousarray(words16.astype(np.int16))
    lo = w[..., 0::2].astype(np.int64) & 0xFFFF
    hi = w[..., 1::2].astype(np.int64) & 0xFFFF
    return (lo | (hi << 16)).astype(np.uint32).view(np.int32)


def _requantize(acc: int, m: int, shift: int, rounding: str) -> int:
    """One accumulator requantized as the TVM kernels do (_common.ROUNDINGS), in Python ints."""
    if rounding != "double":
        total = 31 - shift
        p = acc * m
        if rounding == "half_even":
            return (p + (1 << (total - 1)) - 1 + ((p >> total) & 1)) >> total
        return (p + (1 << (total - 1))) >> total
    a = acc * (1 << max(shift, 0))
    r = (a * m + (1 << 30)) >> 31  # SaturatingRoundingDoublingHighMul (floor form, exact)
    e = max(-shift, 0)
    if e == 0:
        return r
    return (r + (1 << (e - 1)) - (1 if r < 0 else 0)) >> e


def _channel_constants(w2d: np.ndarray, bias, in_zp: int, out_zp: int, lo: int, hi: int, mult, shift,
                       rounding: str):
    """(scale per channel, channel[O4, 4] int32), or a string saying why the fast requantization is not exact.

    rounding: compilers.tvm.kernels._common.ROUNDINGS. The kernel rounds single-rounding halves up, which is
    also "half_even" wherever no accumulator within reach lands on a half (requant.half_even_ties_possible).

    A channel whose weights are all zero (pruned; such channels often carry a saturated bias) has a
    constant output: it is computed here with TFLite's arithmetic and the constants reproduce it.
    """
    o = w2d.shape[0]
    o4 = -(-o // 4) * 4
    w64 = w2d.astype(np.int64)
    bias64 = np.zeros(o, np.int64) if bias is None else np.asarray(bias, np.int64)
    live = np.abs(w64).sum(axis=1) > 0
    start = bias64 - in_zp * w64.sum(axis=1)
    bound = np.abs(start) + 128 * np.abs(w64).sum(axis=1)
    mult, shift = np.asarray(mult, np.int64), np.asarray(shift, np.int64)
    single_rounding = rounding != "double"
    if rounding == "half_even" and np.any(live & half_even_ties_possible(mult, shift, bound)):
        return "half-even rounding could meet a tie the kernel rounds up"
    chan = np.zeros((o4, 4), np.int64)
    chan[o:, 2] = 0 if single_rounding else 1
    if single_rounding:
        total = 31 - shift  # LiteRT: (acc * M + 2^(total-1)) >> total; here with acc doubled
        if np.any(live & ((total < 32) | (total > 52))):
            return "a requantization shift outside the kernel's 32..52 bits"
        scale = np.full(o, 2, np.int64)
        chan[:o, 2] = (1 << (total - 32)) + (out_zp << (total + 1 - 32))  # + zp after the shift
        chan[:o, 3] = total + 1 - 32
    else:
        left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
        if np.any(live & ((right < 1) | (right > 22) | (left > 6) | (mult < 0))):
            return "a requantization shift or multiplier outside the kernel's range"
        scale = 2 << np.where(live, left, 0)
        chan[:o, 2] = right
        chan[:o, 3] = (1 << np.maximum(right - 1, 0)) + (out_zp << right)  # + zp after the shift
    if np.any(live & (bound * scale > _INT32_MAX)) or np.any(np.abs(w64).max(initial=0) * scale > 32767):
        return "an accumulator or weight that could overflow once scaled"
    chan[:o, 0] = start * scale  # int16 weights; int8 weights' kernels start from start (_unscaled_starts)
    chan[:o, 1] = mult
    for c in np.flatnonzero(~live):  # constant output v: start 0, multiplier 0, rounding constant gives v
        v = min(max(out_zp + _requantize(int(bias64[c]), int(mult[c]), int(shift[c]), rounding), lo), hi)
        chan[c] = (0, 0, v, 0) if single_rounding else (0, 0, 1, 1 + 2 * v)
    return scale, chan.astype(np.int32)


def _unscaled_starts(chan: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The channel constants for int8 weights: the start values without the scale (the kernel shifts the sum)."""
    out = chan.copy()
    out[:scale.size, 0] = chan[:scale.size, 0] // scale
    return out


def _geom(h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, seg4, direct, skip=0, pairs=0,
          acc_shift=0):
    return np.array([h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, seg4, direct, skip,
                     pairs, acc_shift], np.int32)


def _pick_storage(ctx, node, wanted: str, scale, chan) -> tuple[str, int]:
    """(storage, accumulator shift): int8 needs one shift for the whole layer; without it the layer keeps int16."""
    shift = _acc_shift(scale, chan)
    if wanted == "int8" and shift is None:
        ctx.storage[node.name] = "int16 (int8 asked, but its channels need different accumulator shifts)"
        return "int16", 0
    ctx.storage[node.name] = wanted
    return wanted, (shift or 0) if wanted == "int8" else 0


def _two_row_stream(ws: np.ndarray, chan: np.ndarray, in_zp: int) -> np.ndarray:
    """Scaled 3x3 depthwise weights [C, 9] and channel constants [C, 4] (start, multiplier, e, rounding) → the
    two-row stream of nn_s8.c, int32 words: [C / 4][even (c0, c2), odd (c1, c3)][start a, b; per column kx
    (w0a, w1a), (w0b, w1b), (w1a, w2a), (w1b, w2b); multiplier a, b; e a, b; rounding a, b; left a, b;
    right a, b] with left/right = in_zp * the sum of column 0 / 2 (what a border pixel's skipped column adds)."""
    c = ws.shape[0]
    k = ws.reshape(c // 4, 4, 3, 3)  # [group, channel, ky, kx]
    ch = chan[:c].astype(np.int64).reshape(c // 4, 4, 4)  # [group, channel, constant]
    out = np.zeros((c // 4, 2, 24), np.int64)
    for odd in (0, 1):
        a, b = k[:, odd], k[:, odd + 2]  # [group, ky, kx]
        consts = np.stack([ch[:, odd], ch[:, odd + 2]], -1)  # [group, constant, (a, b)]
        cols = np.stack([a[:, 0:2], b[:, 0:2], a[:, 1:3], b[:, 1:3]], 1)  # [group, 4, (low, high) rows, kx]
        cols = cols.transpose(0, 3, 1, 2)  # [group, kx, 4, (low, high)]
        out[:, odd, 0:2] = consts[:, 0]
        out[:, odd, 2:14] = ((cols[..., 0] & 0xFFFF) | ((cols[..., 1] & 0xFFFF) << 16)).reshape(-1, 12)
        out[:, odd, 14:20] = consts[:, 1:4].reshape(-1, 6)
        for j, kx in ((20, 0), (22, 2)):
            out[:, odd, j] = in_zp * a[:, :, kx].sum(axis=1)
            out[:, odd, j + 1] = in_zp * b[:, :, kx].sum(axis=1)
    return (out.reshape(-1) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def w8_two_pixels(pixels: int) -> bool:
    """Whether the int8-weight conv kernel takes this layer two output pixels x two channels at a time (weights
    grouped by 2 channels): several output pixels, whatever the window (longer than the widened buffer, WIDE_WORDS
    bytes, or dilated: in tiles). Otherwise one pixel x four channels (fully connected; groups of 4)."""
    return pixels > 1


def widened_pays(pixels: int, o: int, chunks: int) -> bool:
    """Whether the two-pixel tile over weights widened per block of channel pairs (nn_s8.c's conv_w8_2x2_widened)
    saves instructions: 3 per chunk and channel pair of every pixel pair (11 instead of 14 per 16 MACs), against
    widening each pixel pair's activations once more per extra block (widen_pair's 9 per chunk plus the calls and
    the gathered border windows: ~11 per chunk and 60, fitted on IC's 3x3 layers of 4 and 8 blocks, which gained
    34 K and lost 40 K instructions with 9 per chunk) and the weights once per inference (~3 per word)."""
    fit = W16_WORDS // (4 * chunks)
    if fit == 0 or o % 2:
        return False
    pairs = o // 2
    blocks = -(-pairs // fit)
    pixel_pairs = -(-pixels // 2)
    saved = 3 * chunks * pairs * pixel_pairs
    cost = (blocks - 1) * (11 * chunks + 60) * pixel_pairs + 3 * 2 * chunks * pairs + 40 * blocks
    return saved > 1.25 * cost


def conv_variant(storage: str, geom: np.ndarray, pixels: int, patch_bytes: int, dilated: bool = False) -> str:
    """The nn_s8.c conv entry point (without its _one_rounding suffix) this layer runs: the choice is made here, not in
    C, so a firmware links only the variants its layers use. int8 weights: w8_two_pixels's tile (tiled when two
    widened windows do not fit WIDE_WORDS), or one pixel (tiled beyond MAX_PATCH). int16: a window longer than
    MAX_PATCH takes the tiled kernel (any clamp); the others the pointwise loop (1x1, stride 1, no padding,
    C % 8 == 0, O % 4 == 0) or the window loop, each specialised by clamp level (lower bound only / both; none is not
    specialised in the window loop, GCC allocated it worse), pruned groups and rows that are not a multiple of 4
    (gather); one rounding clamps both. A dilated window takes the tiled kernels whatever its length."""
    g = {k: int(v) for k, v in zip(("h", "w", "c", "oh", "ow", "o", "kh", "kw", "sh", "sw", "pt", "pl", "in_zp",
                                    "out_zp", "lo", "hi", "mode", "seg4", "direct", "skip"), geom)}
    if storage == "int8":
        if not w8_two_pixels(pixels):
            return "edgeai_conv_s8_w8_1x4" if patch_bytes <= MAX_PATCH and not dilated else "edgeai_conv_s8_w8_tiled"
        if patch_bytes > WIDE_WORDS or dilated:
            return "edgeai_conv_s8_w8_2x2_tiled"
        # the widened-weight tile exists for the asm tile's case: TFLite's rounding, no clamp beyond saturation
        if (g["mode"], g["lo"], g["hi"]) == (0, -128, 127) and widened_pays(pixels, g["o"], patch_bytes // 4):
            return "edgeai_conv_s8_w8_2x2_widened"
        return "edgeai_conv_s8_w8_2x2"
    if patch_bytes > MAX_PATCH or dilated:
        return "edgeai_conv_s8_tiled"
    pointwise = ((g["kh"], g["kw"], g["sh"], g["sw"], g["pt"], g["pl"]) == (1, 1, 1, 1, 0, 0) and g["c"] % 8 == 0
                 and g["o"] % 4 == 0)
    clamp = 2 if g["hi"] != 127 else 0 if g["lo"] == -128 else 1
    if g["mode"]:
        kind = "pw" if pointwise else "window" if g["direct"] else "gather"
    elif pointwise:
        kind = ("pw_clamped" if clamp == 2 else "pw_skip" if g["skip"] and clamp == 0 else
                "pw_unclamped" if clamp == 0 else "pw_lower")
    else:
        kind = "clamped" if clamp == 2 else "gather" if not g["direct"] else "skip" if g["skip"] else "lower"
    return f"edgeai_conv_s8_{kind}"


def conv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
              rounding="double"):
    """CONV_2D (w [O, KH, KW, C]) or FULLY_CONNECTED (as 1x1, x_shape [1, rows, 1, K]) → edgeai_conv_s8; a window
    of more than MAX_PATCH bytes (kh * kw * C, rows padded to 4) or a dilated one → a tiled kernel (conv_variant)."""
    n, h, wd, c = x_shape
    o, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    seg = kw * c
    seg4 = -(-seg // 4) * 4
    why = f"batch {n}" if n != 1 else None
    dilated = (dh, dw) != (1, 1)
    consts = why or _channel_constants(w.reshape(o, -1), bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
    if isinstance(consts, str):
        return ctx.decline(node, f"edgeai_conv_s8 declines: {consts}")
    scale, chan = consts
    o4 = chan.shape[0]
    pixels = out_shape[1] * out_shape[2]
    two_pixels = w8_two_pixels(pixels)
    # one pixel beyond MAX_PATCH: the tiled kernel's loop (dot_1x4_i8 against int16's dot_1x4)
    kind = ("conv_two_pixels" if two_pixels else "conv_one_pixel" if kh * seg4 <= MAX_PATCH and not dilated else
            "conv_long")
    storage, acc_shift = _pick_storage(ctx, node, _storage(ctx, node, pixels, AUTO_SAVED_PER_MAC[kind], 1.0),
                                       scale, chan)
    wr = np.zeros((o4, kh, seg4), np.int64)
    tile = 4
    if storage == "int8":
        wr[:o, :, :seg] = w.reshape(o, kh, seg)
        tile = 2 if two_pixels else 4
        # [group, ch, kh, chunk, 4 k] → [group, kh, chunk, ch, (k0, k1, k2, k3)]: SXTB16 / ROR 8 pair them
        packed = _bytes_words(wr.reshape(o4 // tile, tile, kh, seg4 // 4, 4).transpose(0, 2, 3, 1, 4)).reshape(-1)
    else:
        wr[:o, :, :seg] = w.reshape(o, kh, seg).astype(np.int64) * scale[:, None, None]
        # [group, ch, kh, chunk, 4 k] → [group, kh, chunk, ch, (k0, k2, k1, k3)]
        wr = wr.reshape(o4 // 4, 4, kh, seg4 // 4, 4).transpose(0, 2, 3, 1, 4)[..., [0, 2, 1, 3]]
        packed = _pairs(wr.reshape(-1, 4)).reshape(-1)
    geom = _geom(h, wd, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi,
                 int(rounding != "double"), seg4, int(seg % 4 == 0),
                 int(bool(np.any(np.all(chan[:, 1].reshape(-1, tile) == 0, axis=1)))), acc_shift=acc_shift)
    if storage == "int8":
        chan = _unscaled_starts(chan, scale)
    variant = conv_variant(storage, geom, pixels, kh * seg4, dilated)
    if variant.endswith("_tiled"):  # nn_s8.h: EDGEAI_G_DH, EDGEAI_G_DW, read by the tiled kernels only
        geom = np.concatenate([geom, np.array([dh, dw], np.int32)])
    symbol = ctx.c_kernel(NN_FILE, *_entry(variant, _ARGS, rounding != "double"))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed),
                                                   ctx.derived(chan.reshape(-1)), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))


def fc_call(ctx, node, rows, k, n, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, rounding="single"):
    """FULLY_CONNECTED (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_s8."""
    attrs = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}
    return conv_call(ctx, node, (1, rows, 1, k), w.reshape(n, 1, 1, k), bias, in_zp, out_zp, lo, hi, mult, shift,
                     (1, rows, 1, n), attrs, rounding)


def dwconv_variant(kh: int, kw: int, sh: int, sw: int, two_rows: bool, lo: int, hi: int) -> str:
    """The suffix of the depthwise entry point (nn_s8.c's EDGEAI_DW_ENTRY) that has exactly the paths this layer
    takes, so --gc-sections drops the others: "" any window, tap by tap; "_3x3" one pixel at a time; "_3x3s1" two
    rows at a time (3x3 stride 1 with its two-row form: W * C <= MAX_DW_CHANNELS). "_clamp": an activation range
    narrower than [-128, 127] (without it the kernel's saturation is the clamp)."""
    if (kh, kw) != (3, 3):
        return ""
    return ("_3x3s1" if two_rows and (sh, sw) == (1, 1) else "_3x3") + ("_clamp" if (lo, hi) != (-128, 127) else "")


def dwconv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                rounding="double"):
    """DEPTHWISE_CONV_2D (w [1, KH, KW, C], depth multiplier 1, C % 4 == 0) → edgeai_dwconv_s8."""
    n, h, wd, c = x_shape
    _, kh, kw, o = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    taps = kh * kw
    why = (f"batch {n}" if n != 1 else f"dilation {dh}x{dw}" if (dh, dw) != (1, 1) else
           f"depth multiplier {o // c if c else o}" if o != c else f"C = {c} not a multiple of 4" if c % 4 else
           f"C = {c} > MAX_DW_CHANNELS {MAX_DW_CHANNELS}" if c > MAX_DW_CHANNELS else
           f"kh*kw = {taps} > MAX_TAPS {MAX_TAPS}" if taps > MAX_TAPS else None)
    if why:
        return ctx.decline(node, f"edgeai_dwconv_s8 declines: {why}")
    wt = w.reshape(taps, c).T  # [C, taps]
    consts = _channel_constants(wt, bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
    if isinstance(consts, str):
        return ctx.decline(node, f"edgeai_dwconv_s8 declines: {consts}")
    scale, chan = consts
    two_rows = (kh, kw, sh, sw) == (3, 3, 1, 1) and wd * c <= MAX_DW_CHANNELS  # two output rows per step
    # int16: 2 bytes per weight, and the two-row stream's 48 bytes per channel (5.3 per 3x3 weight) on top
    saved = AUTO_SAVED_PER_MAC["dw_two_rows" if two_rows else "dw"]
    storage, acc_shift = _pick_storage(ctx, node, _storage(ctx, node, out_shape[1] * out_shape[2], saved,
                                                           1.0 + (48 / taps if two_rows else 0.0)), scale, chan)
    pairs = 0
    if storage == "int8":
        # [group, 4 ch, taps] → [group, taps, (c0, c1, c2, c3)]: SXTB16 / ROR 8 give (c0, c2), (c1, c3)
        packed = _bytes_words(wt.reshape(c // 4, 4, taps).transpose(0, 2, 1)).reshape(-1)
        chan = _unscaled_starts(chan, scale)
    else:
        ws = wt.astype(np.int64) * scale[:, None]  # [C, taps]
        # [group, 4 ch, taps] → [group, taps, (c0, c2, c1, c3)]
        ws = ws.reshape(c // 4, 4, taps).transpose(0, 2, 1)[..., [0, 2, 1, 3]]
        packed = _pairs(ws.reshape(-1, 4)).reshape(-1)
        if two_rows:
            pairs = packed.size
            packed = np.concatenate([packed, _two_row_stream(wt.astype(np.int64) * scale[:, None], chan, in_zp)])
    geom = _geom(h, wd, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi,
                 int(rounding != "double"), 0, 0, pairs=pairs, acc_shift=acc_shift)
    name = "edgeai_dwconv_s8_w8" if storage == "int8" else "edgeai_dwconv_s8"
    symbol = ctx.c_kernel(NN_FILE, *_entry(name + dwconv_variant(kh, kw, sh, sw, two_rows, lo, hi), _ARGS,
                                           rounding != "double"))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed),
                                                   ctx.derived(chan.reshape(-1)), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))


def add_constants(size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q=None, exact=None):
    """(tables, p) of the table-driven ADD kernels (nn_s8.c's edgeai_add_s8, mve/add_s8_mve.c): TFLite's
    arithmetic (q: requant.AddQuantParams), or ONNX numerics (exact: add.exact_add_multipliers); or a string
    saying why not: TFLite's output stage is outside the SMMLAR requantization (right shift 0, or a sum that
    could overflow once scaled)."""
    x = np.arange(256, dtype=np.int64)
    x = np.where(x >= 128, x - 256, x)  # the table index is the byte as unsigned
    if exact is not None:
        m1, m2, total = exact
        t = np.concatenate([(x - zp1) * m1, (x - zp2) * m2]).astype(np.int32)
        p = np.array([size, 0, total, zo, lo, hi], np.int32)
    else:
        left, right = max(q.output_shift, 0), max(-q.output_shift, 0)
        if right < 1 or right > 30 or q.output_multiplier <= 0:
            return f"output shift {q.output_shift} or multiplier {q.output_multiplier} outside its requantization"
        tables = []
        for zp, m, sh in ((zp1, q.input1_multiplier, q.input1_shift), (zp2, q.input2_multiplier, q.input2_shift)):
            tables.append(np.array([_requantize((int(v) - zp) << q.left_shift, m, sh, "double") for v in x],
                                   np.int64))
        scale = 2 << left
        if (np.abs(tables[0]).max() + np.abs(tables[1]).max()) * scale > _INT32_MAX:
            return "a sum that could overflow once scaled"
        t = (np.concatenate(tables) * scale).astype(np.int32)
        p = np.array([size, q.output_multiplier, right, (1 << (right - 1)) + (zo << right), lo, hi], np.int32)
    return t, p


def add_outputs(t: np.ndarray, p: np.ndarray, one_rounding: bool) -> np.ndarray:
    """[256, 256] int8 outputs of edgeai_add_s8 (add_constants' tables t and p) for every pair of input bytes
    (indexed as unsigned), computed as the kernel does (nn_s8.c: add_one, store4)."""
    t = t.astype(np.int64)
    s = t[:256, None] + t[None, 256:]
    _, mult, e, rnd, lo, hi = (int(v) for v in p)
    if one_rounding:
        r = ((s + (1 << (e - 1)) - 1 + ((s >> e) & 1)) >> e) + rnd
    else:  # smmlar(s, mult, round + (s >> 31)) >> e
        r = (((s * mult + (1 << 31)) >> 32) + rnd + (s >> 31)) >> e
    return np.clip(np.clip(r, -128, 127), lo, hi)


_SUM_BOUND = (1 << 30) - 1  # |table entry| < 2^30: the sum of two cannot overflow int32
_SUM_ROUNDS = 600  # a shortest path has at most 512 edges; each round relaxes two


def add_sum_tables(out: np.ndarray, lo: int, hi: int) -> np.ndarray | None:
    """Tables [T1: 256][T2: 256] (int32) for edgeai_add_s8_sum16 such that for every pair of input bytes (a, b)
    min(usat8((T1[a] + T2[b]) >> 16), hi - lo) + lo == out[a, b] (usat8: clamp to [0, 255]); None when no such
    tables exist. out: the exact outputs of all 65,536 pairs (add_outputs), so the kernel is then bit-exact on
    every input by construction, whatever the numerics; the result is checked against out once more.
    Each pair bounds the sum: w = out - lo in (0, hi - lo) needs w * 2^16 <= T1[a] + T2[b] < (w + 1) * 2^16,
    w = 0 only the upper bound (usat8 clamps below), w = hi - lo only the lower one. With x = T1, y = -T2 these
    are difference constraints x[a] - y[b] in [L, U], solved by Bellman-Ford relaxation from x = y = 2^30 (the
    greatest solution below the bound); a constraint cycle of negative weight (no solution) shows as a value
    falling below -2^30 or as no convergence."""
    w = out.astype(np.int64) - lo
    span = hi - lo
    big = 1 << 40
    low = np.where(w == 0, -big, w << 16)
    up = np.where(w == span, big, ((w + 1) << 16) - 1)
    x = np.full(256, _SUM_BOUND, np.int64)
    y = np.full(256, _SUM_BOUND, np.int64)
    for _ in range(_SUM_ROUNDS):
        nx = np.minimum(x, (y[None, :] + up).min(axis=1))
        ny = np.minimum(y, (nx[:, None] - low).min(axis=0))
        if nx.min() < -_SUM_BOUND or ny.min() < -_SUM_BOUND:
            return None
        if np.array_equal(nx, x) and np.array_equal(ny, y):
            break
        x, y = nx, ny
    else:
        return None
    t1, t2 = x, -y
    got = np.minimum(np.clip((t1[:, None] + t2[None, :]) >> 16, 0, 255), span) + lo
    if not np.array_equal(got, out):
        return None
    return np.concatenate([t1, t2]).astype(np.int32)


def add_call(ctx, node, size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q=None, exact=None):
    """ADD of two same-shape int8 tensors → edgeai_add_s8_sum16 (add_sum_tables, solved from the outputs of
    edgeai_add_s8 on every pair of input bytes), or edgeai_add_s8 itself (add_constants) when no such tables
    exist; None when it declines."""
    consts = add_constants(size, zp1, zp2, zo, lo, hi, q, exact)
    if isinstance(consts, str):
        return ctx.decline(node, f"edgeai_add_s8 declines: {consts}")
    t, p = consts
    a, b = node.inputs[0], node.inputs[1]
    sums = add_sum_tables(add_outputs(t, p, exact is not None), lo, hi)
    if sums is not None:
        symbol = ctx.c_kernel(NN_FILE, "edgeai_add_s8_sum16", "int32_t edgeai_add_s8_sum16" + _ADD_ARGS)
        return KernelCall(node.name, node.op, symbol, (TensorArg(a), TensorArg(b), ctx.derived(sums),
                                                       ctx.derived(np.array([size, lo, hi - lo], np.int32)),
                                                       TensorArg(node.outputs[0])))
    symbol = ctx.c_kernel(NN_FILE, *_entry("edgeai_add_s8", _ADD_ARGS, exact is not None))
    return KernelCall(node.name, node.op, symbol, (TensorArg(a), TensorArg(b), ctx.derived(t), ctx.derived(p),
                                                   TensorArg(node.outputs[0])))
