/* yaml_tree.h - a YAML document (libyaml's loader, YAML 1.1 syntax) as a tree
 * of scalars, sequences and mappings that keeps each node's 1-based line and
 * column from libyaml's marks, so that errors read FILE:LINE:COL: message. */
#ifndef SB_YAML_TREE_H
#define SB_YAML_TREE_H

#include "sb.h"

enum sb_ynode_kind { SB_YSCALAR, SB_YSEQ, SB_YMAP };

struct sb_ynode {
	enum sb_ynode_kind kind;
	int line, col;            /* where the node starts, 1-based */
	const char *text;         /* scalars: the value, NUL-terminated */
	bool plain;               /* scalars: written without quotes */
	size_t n;                 /* sequence items or mapping pairs */
	struct sb_ynode **items;  /* sequence items; mapping values */
	struct sb_ynode **keys;   /* mapping keys, all scalars, all distinct */
};

/* An alias shares its anchor's node, so the tree is a graph: walkers must
 * bound their depth (the spec layer never descends more than three levels
 * below a key it knows). */
struct sb_ydoc {
	struct sb_ynode *root;
	struct sb_ynode *nodes;   /* every node, in document order */
	size_t n_nodes;
	void *yaml;               /* the libyaml document, owning the text */
};

/* Parses one YAML document of `len` bytes. Syntax errors, an empty text,
 * more than one document, non-scalar or duplicate mapping keys are errors
 * "PATH:LINE:COL: message". Nothing stays allocated on error. */
int sb_yaml_load(struct sb_ydoc *doc, const char *text, size_t len,
		 const char *path, struct sb_error *err);
void sb_yaml_release(struct sb_ydoc *doc);

/* The value of `key` in a mapping, or NULL. */
const struct sb_ynode *sb_ynode_get(const struct sb_ynode *map,
				    const char *key);
/* An empty plain scalar, `~` or `null`: a key given no value. */
bool sb_ynode_is_null(const struct sb_ynode *node);

/* Records "PATH:LINE:COL: message" at the node's start; returns -1. */
int sb_yaml_error(struct sb_error *err, const char *path,
		  const struct sb_ynode *node, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
