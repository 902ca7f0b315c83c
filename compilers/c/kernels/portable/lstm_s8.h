#ifndef EDGEAI_LSTM_S8_H
#define EDGEAI_LSTM_S8_H
#include <stdint.h>

/* One integer LSTM layer (TFLite UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state)
 * over all its time steps, with LiteRT's 8x8_16 arithmetic. input [batch, steps, features] (time_major 0) or
 * [steps, batch, features] (time_major 1), output likewise with hidden units; cell [batch, hidden] is scratch
 * holding the cell state (arena memory). Gates are in the order input, forget, cell, output:
 *   input_weights [4, hidden, features], recurrent_weights [4, hidden, hidden],
 *   bias [8, hidden]: the 4 input-side biases (the gate bias with the input zero point folded in), then the 4
 *                     recurrent-side ones (the output state's zero point folded in),
 *   multiplier, shift [9]: the 4 input-side, the 4 recurrent-side requantizations to the gates' Q3.12, and the
 *                     hidden one (output gate x tanh(cell), Q0.30, to the output's scale),
 *   params [5]: output zero point (also the initial output state), cell product shift (30 + log2 cell scale),
 *               integer bits of the cell state (15 + log2 cell scale, 0..6), cell clip (0: none).
 * The constants are prepared at compile time (compilers/lowering/lstm.py). Returns 0, or 1 on bad params. */
int32_t edgeai_lstm_s8(const int8_t* input, int8_t* output, int16_t* cell, int32_t batch, int32_t steps,
                       int32_t features, int32_t hidden, int32_t time_major, const int8_t* input_weights,
                       const int8_t* recurrent_weights, const int32_t* bias, const int32_t* multiplier,
                       const int32_t* shift, const int32_t* params);

#endif
