/* One vector path of conv_s8_x86.c, included once per path with (no include guard on purpose):
 *   X86_TARGET        the target attribute of its functions ("avx2,avxvnni", ...);
 *   X86_NAME(f)       f with the path's suffix;
 *   X86_WT, X86_XT    the prepared weight vector (8 channels x 4 k) and broadcast input (4 bytes + 128);
 *   X86_PREP_W(v), X86_PREP_X(v), X86_MAC(acc, x, w)  acc += per channel the 4 products of x and w. */
#define X86_FN static inline __attribute__((always_inline, target(X86_TARGET)))

/* 4 patch bytes of p, offset to unsigned and broadcast to every lane. */
X86_FN X86_XT X86_NAME(bcast)(const int8_t* p)
{
    int32_t bytes;
    memcpy(&bytes, p, 4);
    return X86_PREP_X(_mm256_xor_si256(_mm256_set1_epi32(bytes), _mm256_set1_epi8((char)0x80)));
}

/* The full tile, 4 pixels x 2 blocks, its 8 accumulators named (in an array GCC moves them between registers). */
X86_FN void X86_NAME(tile_4x2)(const int8_t* const* p, const int8_t* const* w, int32_t steps, __m256i acc[4][2])
{
    __m256i a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
    __m256i a20 = acc[2][0], a21 = acc[2][1], a30 = acc[3][0], a31 = acc[3][1];
    const int8_t *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];
    const int8_t *w0 = w[0], *w1 = w[1];
    for (int32_t st = 0; st < steps; st++, p0 += 4, p1 += 4, p2 += 4, p3 += 4, w0 += 32, w1 += 32) {
        const X86_WT wa = X86_PREP_W(edgeai_x86_load8((const int32_t*)(const void*)w0));
        const X86_WT wb = X86_PREP_W(edgeai_x86_load8((const int32_t*)(const void*)w1));
        X86_XT x = X86_NAME(bcast)(p0);
        a00 = X86_MAC(a00, x, wa), a01 = X86_MAC(a01, x, wb);
        x = X86_NAME(bcast)(p1);
        a10 = X86_MAC(a10, x, wa), a11 = X86_MAC(a11, x, wb);
        x = X86_NAME(bcast)(p2);
        a20 = X86_MAC(a20, x, wa), a21 = X86_MAC(a21, x, wb);
        x = X86_NAME(bcast)(p3);
        a30 = X86_MAC(a30, x, wa), a31 = X86_MAC(a31, x, wb);
    }
    acc[0][0] = a00, acc[0][1] = a01, acc[1][0] = a10, acc[1][1] = a11;
    acc[2][0] = a20, acc[2][1] = a21, acc[3][0] = a30, acc[3][1] = a31;
}

/* acc[i][b] += pixel i's patch (p[i]) against block b of 8 channels (w[b]), steps of 4 bytes; N pixels, NB blocks.
 * One pixel alone takes its steps into 4 accumulator sets in turn (no chain through one register), summed after. */
X86_FN void X86_NAME(tile_acc)(const int8_t* const* p, const int32_t N, const int8_t* const* w, const int32_t NB,
                               int32_t steps, __m256i acc[4][2])
{
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    if (N == 1) {
        for (int32_t j = 1; j < 4; j++) {
            acc[j][0] = acc[j][1] = _mm256_setzero_si256();
        }
        for (int32_t st = 0; st < steps; st += 4) {
#pragma GCC unroll 4
            for (int32_t j = 0; j < 4; j++) {
                int32_t bytes;
                memcpy(&bytes, p[0] + 4 * (st + j), 4);
                const X86_XT x = X86_PREP_X(_mm256_xor_si256(_mm256_set1_epi32(bytes), flip));
#pragma GCC unroll 2
                for (int32_t b = 0; b < NB; b++) {
                    const X86_WT wv = X86_PREP_W(edgeai_x86_load8((const int32_t*)(const void*)(w[b] + 32 * (st + j))));
                    acc[j][b] = X86_MAC(acc[j][b], x, wv);
                }
            }
        }
        for (int32_t b = 0; b < NB; b++) {
            acc[0][b] = _mm256_add_epi32(_mm256_add_epi32(acc[0][b], acc[1][b]), _mm256_add_epi32(acc[2][b], acc[3][b]));
        }
        return;
    }
    for (int32_t st = 0; st < steps; st++) {
        X86_WT wv[2];
#pragma GCC unroll 2
        for (int32_t b = 0; b < NB; b++) {
            wv[b] = X86_PREP_W(edgeai_x86_load8((const int32_t*)(const void*)(w[b] + 32 * st)));
        }
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            int32_t bytes;
            memcpy(&bytes, p[i] + 4 * st, 4);
            const X86_XT x = X86_PREP_X(_mm256_xor_si256(_mm256_set1_epi32(bytes), flip));
#pragma GCC unroll 2
            for (int32_t b = 0; b < NB; b++) {
                acc[i][b] = X86_MAC(acc[i][b], x, wv[b]);
            }
        }
    }
}

/* The requantization constants of output channels os .. oe - 1 (os a multiple of 16), 8 each: once per pass of
 * the image, not once per tile. */
X86_FN void X86_NAME(conv_constants)(edgeai_x86_rq8* q, const int32_t* channel, const int32_t* g, int32_t os,
                                     int32_t oe, const int32_t mode)
{
    for (int32_t ob = os; ob < oe; ob += 8) {
        q[(ob - os) / 8] = edgeai_x86_rq8_load(channel, g[EDGEAI_X86_G_OP], ob, mode);
    }
}

/* N pixels from pix on, output channels os .. oe - 1, 16 at a time (then 8). */
X86_FN void X86_NAME(conv_pixels)(const int8_t* const* p, const int32_t N, int32_t pix, const int8_t* weights,
                                  const int32_t* channel, const int32_t* g, const edgeai_x86_rq8* q, int32_t os,
                                  int32_t oe, int8_t* output, const int32_t mode)
{
    const int32_t O = g[EDGEAI_X86_G_O], K16 = g[EDGEAI_X86_G_K16];
    const __m128i zp = _mm_set1_epi16((int16_t)g[EDGEAI_X86_G_ZP_OUT]);
    const __m128i lo = _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MIN]), hi = _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MAX]);
    for (int32_t ob = os; ob < oe; ob += 16) {
        const int32_t NB = oe - ob > 8 ? 2 : 1;
        const int8_t* w[2] = {weights + (size_t)ob * K16, weights + (size_t)(NB == 2 ? ob + 8 : ob) * K16};
        __m256i acc[4][2];
        for (int32_t i = 0; i < 4; i++) {
            acc[i][0] = edgeai_x86_load8(channel + ob);
            acc[i][1] = edgeai_x86_load8(channel + ob + 8);
        }
        if (NB == 2 && N == 4) {
            X86_NAME(tile_4x2)(p, w, K16 / 4, acc);
        } else if (NB == 2) {
            X86_NAME(tile_acc)(p, N, w, 2, K16 / 4, acc);
        } else {
            X86_NAME(tile_acc)(p, N, w, 1, K16 / 4, acc);
        }
        if (N == 4 && O - ob >= 16) { /* 16 channels of pixel pairs narrowed together */
            const __m256i zp16 = _mm256_set1_epi16((int16_t)g[EDGEAI_X86_G_ZP_OUT]);
            const __m256i lo32 = _mm256_set1_epi8((char)g[EDGEAI_X86_G_ACT_MIN]);
            const __m256i hi32 = _mm256_set1_epi8((char)g[EDGEAI_X86_G_ACT_MAX]);
            const edgeai_x86_rq8* qb = &q[(ob - os) / 8];
            for (int32_t i = 0; i < 4; i += 2) {
                edgeai_x86_narrow16x2(edgeai_x86_rq8_apply(acc[i][0], qb, mode),
                                      edgeai_x86_rq8_apply(acc[i][1], qb + 1, mode),
                                      edgeai_x86_rq8_apply(acc[i + 1][0], qb, mode),
                                      edgeai_x86_rq8_apply(acc[i + 1][1], qb + 1, mode), zp16, lo32, hi32,
                                      output + (size_t)(pix + i) * O + ob, output + (size_t)(pix + i + 1) * O + ob);
            }
            continue;
        }
        for (int32_t b = 0; b < NB; b++) {
            const edgeai_x86_rq8* qb = &q[(ob - os) / 8 + b];
            for (int32_t i = 0; i < N; i++) {
                edgeai_x86_store8(output + (size_t)(pix + i) * O + ob + 8 * b,
                                  edgeai_x86_narrow8(edgeai_x86_rq8_apply(acc[i][b], qb, mode), zp, lo, hi),
                                  O - ob - 8 * b);
            }
        }
    }
}

/* Output channels per pass over the image: their requantization constants (8 KiB) stay on the stack. */
#define X86_CONV_CHUNK 256

__attribute__((target(X86_TARGET))) static void X86_NAME(conv_layer)(const int8_t* input, const int8_t* weights,
                                                                     const int32_t* channel, const int32_t* g,
                                                                     int8_t* output, int8_t* patch, int8_t* bordered)
{
    const int32_t mode = g[EDGEAI_X86_G_MODE], O = g[EDGEAI_X86_G_O];
    const int8_t* image = edgeai_x86_padded_image(bordered, input, g);
    const int32_t n_pix = g[EDGEAI_X86_G_OH] * g[EDGEAI_X86_G_OW];
    const int8_t* p[4];
    edgeai_x86_rq8 q[X86_CONV_CHUNK / 8];
    for (int32_t os = 0; os < O; os += X86_CONV_CHUNK) {
        const int32_t oe = O - os > X86_CONV_CHUNK ? os + X86_CONV_CHUNK : O;
        if (mode == EDGEAI_X86_ONE_ROUNDING) {
            X86_NAME(conv_constants)(q, channel, g, os, oe, EDGEAI_X86_ONE_ROUNDING);
        } else if (mode == EDGEAI_X86_TWO_ROUNDINGS_RIGHT) {
            X86_NAME(conv_constants)(q, channel, g, os, oe, EDGEAI_X86_TWO_ROUNDINGS_RIGHT);
        } else {
            X86_NAME(conv_constants)(q, channel, g, os, oe, EDGEAI_X86_TWO_ROUNDINGS);
        }
        for (int32_t pix = 0; pix < n_pix;) {
            const int32_t n = n_pix - pix >= 4 ? 4 : 1;
            edgeai_x86_patches(p, n, pix, image, patch, g);
            if (n == 4 && mode == EDGEAI_X86_ONE_ROUNDING) {
                X86_NAME(conv_pixels)(p, 4, pix, weights, channel, g, q, os, oe, output, EDGEAI_X86_ONE_ROUNDING);
            } else if (n == 4 && mode == EDGEAI_X86_TWO_ROUNDINGS_RIGHT) {
                X86_NAME(conv_pixels)(p, 4, pix, weights, channel, g, q, os, oe, output,
                                      EDGEAI_X86_TWO_ROUNDINGS_RIGHT);
            } else if (n == 4) {
                X86_NAME(conv_pixels)(p, 4, pix, weights, channel, g, q, os, oe, output, EDGEAI_X86_TWO_ROUNDINGS);
            } else {
                X86_NAME(conv_pixels)(p, 1, pix, weights, channel, g, q, os, oe, output, mode);
            }
            pix += n;
        }
    }
}

#undef X86_CONV_CHUNK
#undef X86_FN
