/* yaml_tree.c - loads one YAML document with libyaml's loader (yaml.h,
 * yaml_parser_load) and mirrors it as struct sb_ynode with 1-based marks;
 * syntax errors carry libyaml's problem text and problem mark. */
#include "spec/yaml_tree.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

int sb_yaml_error(struct sb_error *err, const char *path,
		  const struct sb_ynode *node, const char *fmt, ...)
{
	char msg[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return sb_error(err, "%s:%d:%d: %s", path, node ? node->line : 1,
			node ? node->col : 1, msg);
}

static int error_at(struct sb_error *err, const char *path, int line, int col,
		    const char *msg)
{
	struct sb_ynode at = {.line = line, .col = col};
	return sb_yaml_error(err, path, &at, "%s", msg);
}

/* A reader error (bad UTF-8, a control character) has an offset, no mark. */
static void offset_to_mark(const char *text, size_t len, size_t offset,
			   int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parser_error(const yaml_parser_t *parser, const char *text,
			size_t len, const char *path, struct sb_error *err)
{
	const char *problem =
		parser->problem ? parser->problem : "cannot parse YAML";
	int line, col;
	if (parser->error == YAML_READER_ERROR) {
		offset_to_mark(text, len, parser->problem_offset, &line, &col);
	} else {
		line = (int)parser->problem_mark.line + 1;
		col = (int)parser->problem_mark.column + 1;
	}
	return error_at(err, path, line, col, problem);
}

static void release_nodes(struct sb_ydoc *doc)
{
	for (size_t i = 0; i < doc->n_nodes; i++) {
		free(doc->nodes[i].items);
		free(doc->nodes[i].keys);
	}
	free(doc->nodes);
	doc->nodes = NULL;
	doc->n_nodes = 0;
}

void sb_yaml_release(struct sb_ydoc *doc)
{
	release_nodes(doc);
	if (doc->yaml) {
		yaml_document_delete(doc->yaml);
		free(doc->yaml);
	}
	memset(doc, 0, sizeof *doc);
}

/* Mirrors libyaml's node array (1-based references) into doc->nodes. */
static void mirror(struct sb_ydoc *doc, yaml_document_t *ydoc)
{
	size_t n = (size_t)(ydoc->nodes.top - ydoc->nodes.start);
	doc->nodes = sb_calloc(n, sizeof *doc->nodes);
	doc->n_nodes = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *y = &ydoc->nodes.start[i];
		struct sb_ynode *node = &doc->nodes[i];
		node->line = (int)y->start_mark.line + 1;
		node->col = (int)y->start_mark.column + 1;
		switch (y->type) {
		case YAML_SEQUENCE_NODE: {
			const yaml_node_item_t *it =
				y->data.sequence.items.start;
			node->kind = SB_YSEQ;
			node->n = (size_t)(y->data.sequence.items.top - it);
			node->items = sb_calloc(node->n, sizeof *node->items);
			for (size_t j = 0; j < node->n; j++)
				node->items[j] = &doc->nodes[it[j] - 1];
			break;
		}
		case YAML_MAPPING_NODE: {
			const yaml_node_pair_t *p = y->data.mapping.pairs.start;
			node->kind = SB_YMAP;
			node->n = (size_t)(y->data.mapping.pairs.top - p);
			node->items = sb_calloc(node->n, sizeof *node->items);
			node->keys = sb_calloc(node->n, sizeof *node->keys);
			for (size_t j = 0; j < node->n; j++) {
				node->keys[j] = &doc->nodes[p[j].key - 1];
				node->items[j] = &doc->nodes[p[j].value - 1];
			}
			break;
		}
		default:
			node->kind = SB_YSCALAR;
			node->text = (const char *)y->data.scalar.value;
			node->plain =
				y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			break;
		}
	}
}

/* Keys must be scalars, and distinct: libyaml keeps duplicates silently. */
static int check_keys(const struct sb_ydoc *doc, const char *path,
		      struct sb_error *err)
{
	for (size_t i = 0; i < doc->n_nodes; i++) {
		const struct sb_ynode *map = &doc->nodes[i];
		if (map->kind != SB_YMAP)
			continue;
		for (size_t j = 0; j < map->n; j++) {
			const struct sb_ynode *key = map->keys[j];
			if (key->kind != SB_YSCALAR)
				return sb_yaml_error(err, path, key,
						     "expected a plain key");
			for (size_t k = 0; k < j; k++)
				if (!strcmp(map->keys[k]->text, key->text))
					return sb_yaml_error(
						err, path, key,
						"duplicate key '%s'",
						key->text);
		}
	}
	return 0;
}

int sb_yaml_load(struct sb_ydoc *doc, const char *text, size_t len,
		 const char *path, struct sb_error *err)
{
	yaml_parser_t parser;
	memset(doc, 0, sizeof *doc);
	if (!yaml_parser_initialize(&parser))
		return sb_error(err, "%s: cannot initialise the YAML parser",
				path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	doc->yaml = sb_calloc(1, sizeof(yaml_document_t));
	int rc = 0;
	if (!yaml_parser_load(&parser, doc->yaml)) {
		rc = parser_error(&parser, text, len, path, err);
		free(doc->yaml);
		doc->yaml = NULL;
		goto out;
	}
	yaml_node_t *root = yaml_document_get_root_node(doc->yaml);
	if (!root) {
		rc = error_at(err, path, 1, 1, "empty spec");
		goto out;
	}
	/* a second document is a mistake (a stray `---`), not ignored */
	yaml_document_t next;
	if (!yaml_parser_load(&parser, &next)) {
		rc = parser_error(&parser, text, len, path, err);
		goto out;
	}
	yaml_node_t *next_root = yaml_document_get_root_node(&next);
	if (next_root)
		rc = error_at(err, path, (int)next.start_mark.line + 1,
			      (int)next.start_mark.column + 1,
			      "more than one YAML document");
	yaml_document_delete(&next);
	if (rc)
		goto out;
	mirror(doc, doc->yaml);
	doc->root =
		&doc->nodes[root - ((yaml_document_t *)doc->yaml)->nodes.start];
	rc = check_keys(doc, path, err);
out:
	yaml_parser_delete(&parser);
	if (rc)
		sb_yaml_release(doc);
	return rc;
}

const struct sb_ynode *sb_ynode_get(const struct sb_ynode *map, const char *key)
{
	if (map->kind != SB_YMAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i]->text, key))
			return map->items[i];
	return NULL;
}

bool sb_ynode_is_null(const struct sb_ynode *node)
{
	if (node->kind != SB_YSCALAR || !node->plain)
		return false;
	return !strcmp(node->text, "") || !strcmp(node->text, "~") ||
	       !strcmp(node->text, "null") || !strcmp(node->text, "Null") ||
	       !strcmp(node->text, "NULL");
}
