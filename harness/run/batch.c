/* batch.c - the tasks a dataset can pose and the batch buffers the core
 * allocates for them (struct sb_batch in sb.h). */
#include "sb.h"
#include "util.h"

#include <stdlib.h>

const char *sb_task_name(enum sb_task task)
{
	switch (task) {
	case SB_TASK_VECTOR_CLASSIFY:
		return "vector_classify";
	case SB_TASK_LM:
		return "lm";
	case SB_TASK_SEQ_CLASSIFY:
		return "seq_classify";
	}
	return "unknown";
}

void sb_batch_alloc(struct sb_batch *b, const struct sb_data_info *info,
			size_t n)
{
	size_t cells;
	switch (info->task) {
	case SB_TASK_VECTOR_CLASSIFY:
		sb_assert(sb_mul_ok(n, info->n_features, &cells),
			  "batch of n feature vectors fits in size_t");
		b->x = sb_calloc(cells, sizeof *b->x);
		b->targets = sb_calloc(n, sizeof *b->targets);
		break;
	case SB_TASK_LM:
		sb_assert(sb_mul_ok(n, info->seq_len, &cells),
			  "batch of n token rows fits in size_t");
		b->tokens = sb_calloc(cells, sizeof *b->tokens);
		b->targets = sb_calloc(cells, sizeof *b->targets);
		break;
	case SB_TASK_SEQ_CLASSIFY:
		sb_assert(sb_mul_ok(n, info->seq_len, &cells),
			  "batch of n token rows fits in size_t");
		b->tokens = sb_calloc(cells, sizeof *b->tokens);
		b->lengths = sb_calloc(n, sizeof *b->lengths);
		b->targets = sb_calloc(n, sizeof *b->targets);
		break;
	}
}

void sb_batch_release(struct sb_batch *b)
{
	free(b->x);
	free(b->tokens);
	free(b->lengths);
	free(b->targets);
	*b = (struct sb_batch){0};
}
