/*
 * A C "inference system" for the tests: it drives any cbison_factory it is given the address
 * of (ours, exported from Python, in the tests) through the CBISON function pointers only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cbison_api.h"

static void copy_error(cbison_factory_t f, cbison_matcher_t m, char *err, size_t errlen) {
    const char *e = f->get_error(m);
    if (err && errlen) snprintf(err, errlen, "%s", e ? e : "(no error)");
}

/*
 * Walk `tokens`: before each token (and once after the last) compute the mask into
 * masks + i * words and record is_accepting / is_stopped, then consume the token.
 * Returns 0, or -(i + 1) when step i failed (err gets get_error's text).
 */
int drv_walk(cbison_factory_t f, const char *type, const char *grammar, const uint32_t *tokens,
             size_t n, uint32_t *masks, uint8_t *accepting, uint8_t *stopped, char *err,
             size_t errlen) {
    size_t words = f->mask_byte_len / 4;
    cbison_matcher_t m = f->new_matcher(f, type, grammar);
    if (f->get_error(m)) {
        copy_error(f, m, err, errlen);
        f->free_matcher(m);
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        if (f->compute_mask(m, masks + i * words, f->mask_byte_len) != 0) {
            copy_error(f, m, err, errlen);
            f->free_matcher(m);
            return -(int)(i + 1);
        }
        accepting[i] = f->is_accepting(m);
        stopped[i] = f->is_stopped(m);
        if (i < n && f->consume_tokens(m, tokens + i, 1) != 0) {
            copy_error(f, m, err, errlen);
            f->free_matcher(m);
            return -(int)(i + 1);
        }
    }
    f->free_matcher(m);
    return 0;
}

/*
 * `k` matchers walk the same tokens in lockstep; each step is one compute_masks call over
 * rows of one array (masks + (i * k + j) * words). Returns 0, -100 if compute_masks is NULL.
 */
int drv_walk_batch(cbison_factory_t f, const char *type, const char *grammar,
                   const uint32_t *tokens, size_t n, size_t k, uint32_t *masks) {
    if (!f->compute_masks) return -100;
    size_t words = f->mask_byte_len / 4;
    cbison_matcher_t ms[64];
    cbison_mask_req_t reqs[64];
    if (k > 64) return -101;
    ms[0] = f->new_matcher(f, type, grammar);
    for (size_t j = 1; j < k; j++) ms[j] = f->clone_matcher ? f->clone_matcher(ms[0]) : f->new_matcher(f, type, grammar);
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        for (size_t j = 0; j < k; j++) {
            reqs[j].matcher = ms[j];
            reqs[j].mask_dest = masks + (i * k + j) * words;
        }
        if (f->compute_masks(f, reqs, k) != 0) rc = -(int)(i + 1);
        for (size_t j = 0; j < k && i < n && rc == 0; j++)
            if (f->consume_tokens(ms[j], tokens + i, 1) != 0) rc = -(int)(i + 1);
    }
    for (size_t j = 0; j < k; j++) f->free_matcher(ms[j]);
    return rc;
}

/*
 * Timing for the benchmark: `rounds` walks over the tokens, compute_mask timed alone
 * (monotonic clock). Returns the total nanoseconds spent in compute_mask, or -1; per_token
 * (NULL, or n doubles) gets each token's time in the last round.
 */
double drv_time_masks(cbison_factory_t f, const char *type, const char *grammar,
                      const uint32_t *tokens, size_t n, int rounds, uint32_t *scratch,
                      double *per_token) {
    double total = 0;
    for (int r = 0; r < rounds; r++) {
        cbison_matcher_t m = f->new_matcher(f, type, grammar);
        if (f->get_error(m)) { f->free_matcher(m); return -1; }
        for (size_t i = 0; i < n; i++) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            int rc = f->compute_mask(m, scratch, f->mask_byte_len);
            clock_gettime(CLOCK_MONOTONIC, &b);
            if (rc != 0 || f->consume_tokens(m, tokens + i, 1) != 0) { f->free_matcher(m); return -1; }
            double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
            total += ns;
            if (per_token) per_token[i] = ns;
        }
        f->free_matcher(m);
    }
    return total;
}

/*
 * Batched timing for the benchmark: `k` matchers walk the tokens in lockstep; each step's
 * compute_masks call over rows of `masks` ([k, words]) is timed. per_step gets each step's ns.
 * Returns the total ns, -1 on a failure, -100 if compute_masks is NULL.
 */
double drv_time_batch(cbison_factory_t f, const char *type, const char *grammar,
                      const uint32_t *tokens, size_t n, size_t k, uint32_t *masks,
                      double *per_step) {
    if (!f->compute_masks) return -100;
    if (k > 64) return -1;
    size_t words = f->mask_byte_len / 4;
    cbison_matcher_t ms[64];
    cbison_mask_req_t reqs[64];
    for (size_t j = 0; j < k; j++) {
        ms[j] = f->new_matcher(f, type, grammar);
        reqs[j].matcher = ms[j];
        reqs[j].mask_dest = masks + j * words;
    }
    double total = 0;
    int failed = 0;
    for (size_t i = 0; i < n && !failed; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = f->compute_masks(f, reqs, k);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
        total += ns;
        if (per_step) per_step[i] = ns;
        if (rc != 0) failed = 1;
        for (size_t j = 0; j < k && !failed; j++)
            if (f->consume_tokens(ms[j], tokens + i, 1) != 0) failed = 1;
    }
    for (size_t j = 0; j < k; j++) f->free_matcher(ms[j]);
    return failed ? -1 : total;
}

static void line(char **out, size_t *room, const char *name, long rc, const char *err) {
    int w = snprintf(*out, *room, "%s\t%ld\t%s\n", name, rc, err ? err : "(null)");
    if (w > 0 && (size_t)w < *room) { *out += w; *room -= (size_t)w; }
}

/*
 * The bad-input cases, each reported as "name<TAB>rc<TAB>get_error text" lines.
 * `bad_token` must be a token the grammar refuses at its start.
 */
int drv_bad_cases(cbison_factory_t f, const char *type, const char *grammar, uint32_t bad_token,
                  char *report, size_t room) {
    uint32_t mask[1 << 15];
    char msg[512];
    cbison_matcher_t m;
    long rc;
    if (f->mask_byte_len > sizeof mask) return -1;
    report[0] = 0;

    m = f->new_matcher(f, "regex", "(unclosed");
    rc = f->compute_mask(m, mask, f->mask_byte_len);
    line(&report, &room, "invalid_grammar", rc, f->get_error(m));
    f->free_matcher(m);

    int v = f->validate_grammar(f, "no-such-type", "x", msg, sizeof msg);
    line(&report, &room, "validate_unknown_type", v, msg);

    m = f->new_matcher(f, type, grammar);
    rc = f->compute_mask(m, mask, f->mask_byte_len - 4);
    line(&report, &room, "wrong_mask_len", rc, f->get_error(m));
    f->free_matcher(m);

    m = f->new_matcher(f, type, grammar);
    rc = f->consume_tokens(m, &bad_token, 1);
    line(&report, &room, "refused_token", rc, f->get_error(m));
    rc = f->compute_mask(m, mask, f->mask_byte_len);
    line(&report, &room, "after_error_mask", rc, f->get_error(m));
    rc = f->is_stopped(m);
    line(&report, &room, "after_error_stopped", rc, f->get_error(m));
    f->free_matcher(m);

    m = f->new_matcher(f, type, grammar);
    rc = f->rollback ? f->rollback(m, 5) : -100;
    line(&report, &room, "too_long_rollback", rc, f->get_error(m));
    f->free_matcher(m);

    m = f->new_matcher(f, type, grammar);
    f->free_matcher(m);
    rc = f->compute_mask(m, mask, f->mask_byte_len);
    line(&report, &room, "freed_mask", rc, f->get_error(m));
    rc = f->consume_tokens(m, &bad_token, 1);
    line(&report, &room, "freed_consume", rc, f->get_error(m));
    f->free_matcher(m); /* a double free is detected and ignored */
    rc = 0;
    line(&report, &room, "double_free", rc, f->get_error(m));
    return 0;
}

/* reference counting from C */
void drv_incr(cbison_factory_t f) { f->incr_ref_count(f); }
void drv_decr(cbison_factory_t f) { f->decr_ref_count(f); }

/* the exported tokenizer, read from C: bytes of a token, its flag, a tokenization */
int drv_token(cbison_tokenizer_t t, uint32_t id, uint8_t *out, size_t len) { return t->get_token(t, id, out, len); }
int drv_is_special(cbison_tokenizer_t t, uint32_t id) { return t->is_special_token(t, id); }
size_t drv_tokenize(cbison_tokenizer_t t, const char *s, size_t n, uint32_t *out, size_t len) {
    return t->tokenize_bytes(t, s, n, out, len);
}
