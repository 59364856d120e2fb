/* lm_windows.c - where the language-modelling examples of a token stream
 * start (lm_windows.h). */
#include "lm_windows.h"

size_t sb_lm_windows_count(enum sb_split split, size_t n_tokens,
			   size_t seq_len)
{
	if (n_tokens < seq_len + 1)
		return 0;
	/* the last window's last target is token n_tokens - 1 */
	return split == SB_TRAIN ? n_tokens - seq_len
				 : (n_tokens - 1) / seq_len;
}

size_t sb_lm_window_start(enum sb_split split, size_t row, size_t seq_len)
{
	return split == SB_TRAIN ? row : row * seq_len;
}
