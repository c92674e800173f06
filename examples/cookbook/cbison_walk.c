/* A C program's side of CBISON: given any engine's factory (here: ours, exported), constrain a
 * token sequence to a JSON schema. For each token: compute the mask, check the token is allowed,
 * consume it. Returns the number of tokens accepted; writes a short report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbison_api.h"

static int allowed(const uint32_t *mask, uint32_t token) {
    return (mask[token / 32] >> (token % 32)) & 1u;
}

static size_t count(const uint32_t *mask, size_t n_vocab) {
    size_t n = 0;
    for (size_t t = 0; t < n_vocab; t++) n += allowed(mask, (uint32_t)t);
    return n;
}

int walk(cbison_factory_t f, const char *schema, const uint32_t *tokens, size_t n_tokens,
         char *report, size_t report_len) {
    char message[256];
    if (f->validate_grammar(f, "json_schema", schema, message, sizeof message) < 0) {
        snprintf(report, report_len, "invalid schema: %s", message);
        return -1;
    }
    cbison_matcher_t m = f->new_matcher(f, "json_schema", schema);
    uint32_t *mask = malloc(f->mask_byte_len);
    size_t first_allowed = 0;
    size_t done = 0;
    for (; done < n_tokens; done++) {
        f->compute_mask(m, mask, f->mask_byte_len);
        if (done == 0) first_allowed = count(mask, f->n_vocab);
        if (!allowed(mask, tokens[done])) break; /* the grammar refuses this token */
        f->consume_tokens(m, &tokens[done], 1);
    }
    snprintf(report, report_len,
             "%zu of %zu tokens accepted, %zu of %zu tokens allowed first, accepting=%d",
             done, n_tokens, first_allowed, f->n_vocab, (int)f->is_accepting(m));
    free(mask);
    f->free_matcher(m);
    return (int)done;
}
