/* lm_windows.h - language-modelling examples as windows of seq_len tokens
 * over a split's token stream, each with the next token as its targets:
 * training windows start at every offset, validation and test windows tile
 * the stream without overlap. The byte (fortunes) and token-shard
 * (llmc_tokens) datasets define their examples by this one rule. */
#ifndef SB_LM_WINDOWS_H
#define SB_LM_WINDOWS_H

#include "sb.h"

/* Examples in a stream of n_tokens: 0 when not even one window and its
 * shifted targets (seq_len + 1 tokens) fit. */
size_t sb_lm_windows_count(enum sb_split split, size_t n_tokens,
			   size_t seq_len);
/* The offset in the stream of example `row` (< the count above); its
 * targets are the seq_len tokens one further. */
size_t sb_lm_window_start(enum sb_split split, size_t row, size_t seq_len);

#endif
