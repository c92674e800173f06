/*
 * tiny: a small CBISON grammar engine in C, for the tests of instructor_py.engine.cbison.
 *
 * Grammar type "regex" only (the whole output must match): literals (UTF-8), ".", classes
 * [a-z0-9_] and [^...] (ASCII members), \d \w \s \D \W \S, \n \t \r \f \v, \xHH, \x{H..},
 * escaped punctuation, groups (...) and (?:...), alternation, * + ? {m} {m,} {m,n}. The regex
 * becomes a Thompson NFA over bytes, walked through a lazily built DFA; a token is allowed when
 * its bytes keep the DFA alive, EOS when the state accepts. Fast-forward tokens come from the
 * forced bytes through the tokenizer's tokenize_bytes.
 *
 * Entry point: tiny_cbison_new_factory(tokenizer, options_json, err, errlen). Options (JSON):
 *   "minimal": true      leave every optional function NULL
 *   "corrupt": "magic"   return a factory with a wrong magic ("version": major version 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbison_api.h"

#define MAX_NFA 20000
#define MAX_DFA 20000
#define EOS_MARK (-3)

/* ---------------------------------------------------------------- regex -> AST */

enum { A_SET, A_SEQ, A_ALT, A_REP, A_EMPTY };

typedef struct {
    int type;
    uint8_t set[32];
    int *kids;
    int nkids, capkids;
    int min, max; /* A_REP; max -1 = unbounded */
} anode;

typedef struct {
    const unsigned char *s;
    size_t pos, len;
    anode *nodes;
    int n, cap;
    char err[256];
} parser;

static int new_node(parser *p, int type) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->nodes = realloc(p->nodes, sizeof(anode) * p->cap);
    }
    anode *a = &p->nodes[p->n];
    memset(a, 0, sizeof *a);
    a->type = type;
    return p->n++;
}

static void add_kid(parser *p, int parent, int kid) {
    anode *a = &p->nodes[parent];
    if (a->nkids == a->capkids) {
        a->capkids = a->capkids ? a->capkids * 2 : 4;
        a->kids = realloc(a->kids, sizeof(int) * a->capkids);
    }
    a->kids[a->nkids++] = kid;
}

static void set_add(uint8_t *set, int lo, int hi) {
    for (int c = lo; c <= hi; c++) set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static int fail(parser *p, const char *msg) {
    if (!p->err[0]) snprintf(p->err, sizeof p->err, "regex error at offset %zu: %s", p->pos, msg);
    return -1;
}

static int byte_node(parser *p, int lo, int hi) {
    int n = new_node(p, A_SET);
    set_add(p->nodes[n].set, lo, hi);
    return n;
}

/* any multi-byte UTF-8 character (lead byte + continuation bytes) */
static int multibyte_any(parser *p) {
    int alt = new_node(p, A_ALT);
    static const int leads[3][2] = {{0xC2, 0xDF}, {0xE0, 0xEF}, {0xF0, 0xF4}};
    for (int k = 0; k < 3; k++) {
        int seq = new_node(p, A_SEQ);
        add_kid(p, seq, byte_node(p, leads[k][0], leads[k][1]));
        for (int j = 0; j <= k; j++) add_kid(p, seq, byte_node(p, 0x80, 0xBF));
        add_kid(p, alt, seq);
    }
    return alt;
}

static int codepoint_node(parser *p, unsigned long cp) {
    unsigned char b[4];
    int n;
    if (cp < 0x80) { b[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = 0xC0 | (cp >> 6); b[1] = 0x80 | (cp & 0x3F); n = 2; }
    else if (cp < 0x10000) {
        b[0] = 0xE0 | (cp >> 12); b[1] = 0x80 | ((cp >> 6) & 0x3F); b[2] = 0x80 | (cp & 0x3F); n = 3;
    } else if (cp < 0x110000) {
        b[0] = 0xF0 | (cp >> 18); b[1] = 0x80 | ((cp >> 12) & 0x3F);
        b[2] = 0x80 | ((cp >> 6) & 0x3F); b[3] = 0x80 | (cp & 0x3F); n = 4;
    } else return fail(p, "code point out of range");
    if (n == 1) return byte_node(p, b[0], b[0]);
    int seq = new_node(p, A_SEQ);
    for (int i = 0; i < n; i++) add_kid(p, seq, byte_node(p, b[i], b[i]));
    return seq;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* class escapes into an ASCII set; returns 1 if handled, with *negated set for \D \W \S */
static int class_escape(int c, uint8_t *set, int *negated) {
    uint8_t tmp[32] = {0};
    int lower = c | 0x20;
    if (lower == 'd') set_add(tmp, '0', '9');
    else if (lower == 'w') { set_add(tmp, '0', '9'); set_add(tmp, 'a', 'z'); set_add(tmp, 'A', 'Z'); set_add(tmp, '_', '_'); }
    else if (lower == 's') { set_add(tmp, ' ', ' '); set_add(tmp, '\t', '\r'); }
    else return 0;
    *negated = (c >= 'A' && c <= 'Z');
    for (int i = 0; i < 32; i++) set[i] |= tmp[i];
    return 1;
}

static int simple_escape(int c) {
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    default: return -1;
    }
}

/* \xHH or \x{H..} after the 'x'; returns the code point or -1 */
static long parse_hex(parser *p) {
    long v = 0;
    if (p->pos < p->len && p->s[p->pos] == '{') {
        p->pos++;
        int digits = 0;
        while (p->pos < p->len && p->s[p->pos] != '}') {
            int h = hexval(p->s[p->pos++]);
            if (h < 0 || ++digits > 6) return fail(p, "bad \\x{...} escape");
            v = v * 16 + h;
        }
        if (p->pos >= p->len || digits == 0) return fail(p, "unterminated \\x{...} escape");
        p->pos++;
        return v;
    }
    for (int i = 0; i < 2; i++) {
        int h = p->pos < p->len ? hexval(p->s[p->pos]) : -1;
        if (h < 0) return fail(p, "\\x needs two hex digits");
        p->pos++;
        v = v * 16 + h;
    }
    return v;
}

/* a set of ASCII bytes (negated: its ASCII complement or any multi-byte character) */
static int set_node(parser *p, const uint8_t *ascii, int negated) {
    int n = new_node(p, A_SET);
    for (int c = 0; c < 128; c++) {
        int in = (ascii[c >> 3] >> (c & 7)) & 1;
        if (in != negated) set_add(p->nodes[n].set, c, c);
    }
    if (!negated) return n;
    int alt = new_node(p, A_ALT);
    add_kid(p, alt, n);
    add_kid(p, alt, multibyte_any(p));
    return alt;
}

static int parse_class(parser *p) {
    uint8_t set[32] = {0};
    int negated = 0, first = 1;
    if (p->pos < p->len && p->s[p->pos] == '^') { negated = 1; p->pos++; }
    for (;;) {
        if (p->pos >= p->len) return fail(p, "unterminated character class");
        int c = p->s[p->pos];
        if (c == ']' && !first) { p->pos++; break; }
        first = 0;
        p->pos++;
        if (c == '\\') {
            if (p->pos >= p->len) return fail(p, "trailing backslash");
            int e = p->s[p->pos++], neg = 0;
            uint8_t sub[32] = {0};
            if (class_escape(e, sub, &neg)) {
                if (neg) return fail(p, "negated class escapes inside [...] are not supported");
                for (int i = 0; i < 32; i++) set[i] |= sub[i];
                continue;
            }
            int s = simple_escape(e);
            if (e == 'x') { long v = parse_hex(p); if (v < 0) return -1; s = (int)v; }
            c = s >= 0 ? s : e;
        }
        if (c >= 0x80) return fail(p, "non-ASCII characters in [...] are not supported");
        int hi = c;
        if (p->pos + 1 < p->len && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
            p->pos++;
            hi = p->s[p->pos++];
            if (hi == '\\') {
                if (p->pos >= p->len) return fail(p, "trailing backslash");
                int e = p->s[p->pos++];
                int s = simple_escape(e);
                if (e == 'x') { long v = parse_hex(p); if (v < 0) return -1; s = (int)v; }
                hi = s >= 0 ? s : e;
            }
            if (hi >= 0x80 || hi < c) return fail(p, "bad range in character class");
        }
        set_add(set, c, hi);
    }
    return set_node(p, set, negated);
}

static int parse_alt(parser *p);

static int parse_atom(parser *p) {
    int c = p->s[p->pos++];
    if (c == '(') {
        if (p->pos + 1 < p->len && p->s[p->pos] == '?') {
            if (p->s[p->pos + 1] != ':') return fail(p, "only (?:...) groups are supported");
            p->pos += 2;
        }
        int inner = parse_alt(p);
        if (inner < 0) return -1;
        if (p->pos >= p->len || p->s[p->pos] != ')') return fail(p, "missing )");
        p->pos++;
        return inner;
    }
    if (c == ')') return fail(p, "unbalanced )");
    if (c == '[') return parse_class(p);
    if (c == '.') {
        uint8_t nl[32] = {0};
        set_add(nl, '\n', '\n');
        return set_node(p, nl, 1);
    }
    if (c == '^' || c == '$') return fail(p, "anchors are not supported (the whole output must match)");
    if (c == '*' || c == '+' || c == '?' || c == '{') return fail(p, "nothing to repeat");
    if (c == '\\') {
        if (p->pos >= p->len) return fail(p, "trailing backslash");
        int e = p->s[p->pos++], neg = 0;
        uint8_t set[32] = {0};
        if (class_escape(e, set, &neg)) return set_node(p, set, neg);
        if (e == 'x') { long v = parse_hex(p); return v < 0 ? -1 : codepoint_node(p, (unsigned long)v); }
        int s = simple_escape(e);
        if (s >= 0) return byte_node(p, s, s);
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
            return fail(p, "unknown escape");
        return byte_node(p, e, e);
    }
    if (c < 0x80) return byte_node(p, c, c);
    /* a UTF-8 character: its bytes in sequence, so a quantifier applies to all of them */
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (extra < 0 || p->pos + extra > p->len) return fail(p, "invalid UTF-8 in the regex");
    int seq = new_node(p, A_SEQ);
    add_kid(p, seq, byte_node(p, c, c));
    for (int i = 0; i < extra; i++) { int b = p->s[p->pos++]; add_kid(p, seq, byte_node(p, b, b)); }
    return seq;
}

static int parse_number(parser *p, int *out) {
    int v = 0, digits = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        v = v * 10 + (p->s[p->pos++] - '0');
        if (++digits > 4) return 0;
    }
    *out = v;
    return digits > 0;
}

static int parse_seq(parser *p) {
    int seq = new_node(p, A_SEQ);
    while (p->pos < p->len && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        int atom = parse_atom(p);
        if (atom < 0) return -1;
        while (p->pos < p->len) {
            int q = p->s[p->pos], mn, mx;
            if (q == '*') { mn = 0; mx = -1; p->pos++; }
            else if (q == '+') { mn = 1; mx = -1; p->pos++; }
            else if (q == '?') { mn = 0; mx = 1; p->pos++; }
            else if (q == '{') {
                p->pos++;
                if (!parse_number(p, &mn)) return fail(p, "bad {m,n} repetition");
                mx = mn;
                if (p->pos < p->len && p->s[p->pos] == ',') {
                    p->pos++;
                    if (p->pos < p->len && p->s[p->pos] == '}') mx = -1;
                    else if (!parse_number(p, &mx) || mx < mn) return fail(p, "bad {m,n} repetition");
                }
                if (p->pos >= p->len || p->s[p->pos] != '}') return fail(p, "missing } in repetition");
                p->pos++;
                if (mn > 1000 || mx > 1000) return fail(p, "repetition count above 1000");
            } else break;
            int rep = new_node(p, A_REP);
            p->nodes[rep].min = mn;
            p->nodes[rep].max = mx;
            add_kid(p, rep, atom);
            atom = rep;
        }
        add_kid(p, seq, atom);
    }
    return seq;
}

static int parse_alt(parser *p) {
    int first = parse_seq(p);
    if (first < 0) return -1;
    if (p->pos >= p->len || p->s[p->pos] != '|') return first;
    int alt = new_node(p, A_ALT);
    add_kid(p, alt, first);
    while (p->pos < p->len && p->s[p->pos] == '|') {
        p->pos++;
        int next = parse_seq(p);
        if (next < 0) return -1;
        add_kid(p, alt, next);
    }
    return alt;
}

/* ---------------------------------------------------------------- AST -> NFA */

enum { N_SET, N_SPLIT, N_MATCH };

typedef struct {
    int kind;
    uint8_t set[32];
    int out, out2;
} nstate;

typedef struct {
    nstate *s;
    int n, cap;
    int overflow;
} nfa;

static int nfa_add(nfa *m, int kind, int out, int out2) {
    if (m->n >= MAX_NFA) { m->overflow = 1; return 0; }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->s = realloc(m->s, sizeof(nstate) * m->cap);
    }
    nstate *st = &m->s[m->n];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->out = out;
    st->out2 = out2;
    return m->n++;
}

/* compile node `a` so that it continues at state `next`; returns its start state */
static int emit(parser *p, nfa *m, int a, int next) {
    anode *node = &p->nodes[a];
    if (m->overflow) return next;
    switch (node->type) {
    case A_SET: {
        int s = nfa_add(m, N_SET, next, -1);
        if (!m->overflow) memcpy(m->s[s].set, p->nodes[a].set, 32);
        return s;
    }
    case A_SEQ:
        for (int i = node->nkids - 1; i >= 0; i--) next = emit(p, m, p->nodes[a].kids[i], next);
        return next;
    case A_ALT: {
        int n = node->nkids, start = emit(p, m, node->kids[n - 1], next);
        for (int i = n - 2; i >= 0; i--) {
            int branch = emit(p, m, p->nodes[a].kids[i], next);
            start = nfa_add(m, N_SPLIT, branch, start);
        }
        return start;
    }
    case A_REP: {
        int kid = node->kids[0], mn = node->min, mx = node->max, tail = next;
        if (mx < 0) {
            int loop = nfa_add(m, N_SPLIT, -1, next);
            int body = emit(p, m, kid, loop);
            if (!m->overflow) m->s[loop].out = body;
            tail = loop;
        } else {
            for (int i = 0; i < mx - mn; i++) {
                int body = emit(p, m, kid, tail);
                tail = nfa_add(m, N_SPLIT, body, next);
            }
        }
        for (int i = 0; i < mn; i++) tail = emit(p, m, kid, tail);
        return tail;
    }
    default:
        return next;
    }
}

/* ---------------------------------------------------------------- NFA -> lazy DFA */

typedef struct {
    int refs;
    nfa m;
    int start_nfa;
    int words; /* uint64 per state set */
    uint64_t *sets;
    uint64_t *hashes;
    int32_t *trans; /* 256 per DFA state; -2 not computed yet, -1 dead */
    uint8_t *accept;
    int8_t *stuck; /* -1 unknown, 1 no byte leads anywhere */
    int n, cap;
    int overflow;
    uint64_t *scratch;
    int *stack;
} prog;

static void closure_add(prog *g, uint64_t *set, int s) {
    int top = 0;
    g->stack[top++] = s;
    while (top) {
        int x = g->stack[--top];
        if (x < 0 || (set[x >> 6] >> (x & 63)) & 1) continue;
        set[x >> 6] |= 1ull << (x & 63);
        if (g->m.s[x].kind == N_SPLIT) {
            g->stack[top++] = g->m.s[x].out;
            g->stack[top++] = g->m.s[x].out2;
        }
    }
}

static int dfa_find_or_add(prog *g, const uint64_t *set) {
    uint64_t h = 1469598103934665603ull;
    int empty = 1;
    for (int i = 0; i < g->words; i++) {
        h = (h ^ set[i]) * 1099511628211ull;
        if (set[i]) empty = 0;
    }
    if (empty) return -1;
    for (int d = 0; d < g->n; d++)
        if (g->hashes[d] == h && !memcmp(g->sets + (size_t)d * g->words, set, 8 * g->words)) return d;
    if (g->n >= MAX_DFA) { g->overflow = 1; return -1; }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->sets = realloc(g->sets, 8 * (size_t)g->words * g->cap);
        g->hashes = realloc(g->hashes, 8 * (size_t)g->cap);
        g->trans = realloc(g->trans, 4 * 256 * (size_t)g->cap);
        g->accept = realloc(g->accept, (size_t)g->cap);
        g->stuck = realloc(g->stuck, (size_t)g->cap);
    }
    int d = g->n++;
    memcpy(g->sets + (size_t)d * g->words, set, 8 * g->words);
    g->hashes[d] = h;
    for (int b = 0; b < 256; b++) g->trans[(size_t)d * 256 + b] = -2;
    g->accept[d] = 0;
    g->stuck[d] = -1;
    for (int x = 0; x < g->m.n; x++)
        if ((set[x >> 6] >> (x & 63)) & 1 && g->m.s[x].kind == N_MATCH) g->accept[d] = 1;
    return d;
}

static int dfa_step(prog *g, int d, int byte) {
    int32_t t = g->trans[(size_t)d * 256 + byte];
    if (t != -2) return t;
    uint64_t *next = g->scratch;
    memset(next, 0, 8 * g->words);
    const uint64_t *cur = g->sets + (size_t)d * g->words;
    for (int x = 0; x < g->m.n; x++) {
        if (!((cur[x >> 6] >> (x & 63)) & 1)) continue;
        const nstate *st = &g->m.s[x];
        if (st->kind == N_SET && (st->set[byte >> 3] >> (byte & 7)) & 1) closure_add(g, next, st->out);
    }
    t = dfa_find_or_add(g, next);
    g->trans[(size_t)d * 256 + byte] = t; /* find_or_add may move trans: index again */
    return t;
}

static int dfa_stuck(prog *g, int d) {
    if (g->stuck[d] < 0) {
        int any = 0;
        for (int b = 0; b < 256 && !any; b++) any = dfa_step(g, d, b) >= 0;
        g->stuck[d] = !any;
    }
    return g->stuck[d];
}

static void prog_free(prog *g) {
    if (!g || --g->refs > 0) return;
    free(g->m.s); free(g->sets); free(g->hashes); free(g->trans);
    free(g->accept); free(g->stuck); free(g->scratch); free(g->stack);
    free(g);
}

static prog *prog_compile(const char *regex, char *err, size_t errlen) {
    parser p = {0};
    p.s = (const unsigned char *)regex;
    p.len = strlen(regex);
    int root = parse_alt(&p);
    if (root >= 0 && p.pos < p.len) root = fail(&p, "unbalanced )");
    prog *g = NULL;
    if (root >= 0) {
        g = calloc(1, sizeof *g);
        g->refs = 1;
        int match = nfa_add(&g->m, N_MATCH, -1, -1);
        g->start_nfa = emit(&p, &g->m, root, match);
        if (g->m.overflow) {
            snprintf(p.err, sizeof p.err, "regex too large (more than %d NFA states)", MAX_NFA);
            g->refs = 1;
            prog_free(g);
            g = NULL;
        }
    }
    for (int i = 0; i < p.n; i++) free(p.nodes[i].kids);
    free(p.nodes);
    if (!g) {
        snprintf(err, errlen, "%s", p.err[0] ? p.err : "invalid regex");
        return NULL;
    }
    g->words = (g->m.n + 63) / 64;
    g->scratch = calloc((size_t)g->words, 8);
    g->stack = malloc(sizeof(int) * (size_t)(2 * g->m.n + 2));
    uint64_t *start = calloc((size_t)g->words, 8);
    closure_add(g, start, g->start_nfa);
    dfa_find_or_add(g, start); /* DFA state 0 */
    free(start);
    return g;
}

/* ---------------------------------------------------------------- factory and matchers */

typedef struct tiny_factory {
    struct cbison_factory api; /* first: the api pointer is the factory pointer */
    int refs;
    cbison_tokenizer_t tok;
    size_t n_vocab;
    uint32_t eos;
    uint8_t **bytes;
    uint32_t *lens;
    uint8_t *special;
} tiny_factory;

typedef struct cbison_matcher {
    tiny_factory *f;
    prog *g;
    int *stack; /* DFA states; stack[depth-1] is the current one (EOS_MARK after EOS) */
    size_t depth, cap;
    char *error;
} tiny_matcher;

static void factory_incr(cbison_factory_t api) {
    __atomic_add_fetch(&((tiny_factory *)api)->refs, 1, __ATOMIC_SEQ_CST);
}

static void factory_decr(cbison_factory_t api) {
    tiny_factory *f = (tiny_factory *)api;
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_SEQ_CST) != 0) return;
    for (size_t i = 0; i < f->n_vocab; i++) free(f->bytes[i]);
    free(f->bytes); free(f->lens); free(f->special);
    if (f->tok->decr_ref_count) f->tok->decr_ref_count(f->tok);
    free(f);
}

static int set_error(tiny_matcher *m, const char *fmt, unsigned long a) {
    if (!m->error) {
        m->error = malloc(256);
        snprintf(m->error, 256, fmt, a);
    }
    return -1;
}

static int check_type(const char *type, char *err, size_t errlen) {
    if (type && !strcmp(type, "regex")) return 0;
    snprintf(err, errlen, "tiny engine: grammar type '%s' is not supported; it reads only 'regex'",
             type ? type : "(null)");
    return -1;
}

static int32_t tiny_validate_grammar(cbison_factory_t api, const char *type, const char *grammar,
                                     char *message, size_t message_len) {
    (void)api;
    char err[300] = "";
    int rc = check_type(type, err, sizeof err);
    if (rc == 0) {
        prog *g = grammar ? prog_compile(grammar, err, sizeof err) : NULL;
        if (!g) rc = -1;
        prog_free(g);
    }
    if (message && message_len) snprintf(message, message_len, "%s", rc ? err : "");
    return rc;
}

static tiny_matcher *matcher_alloc(tiny_factory *f) {
    tiny_matcher *m = calloc(1, sizeof *m);
    m->f = f;
    m->cap = 16;
    m->stack = malloc(sizeof(int) * m->cap);
    m->stack[0] = 0;
    m->depth = 1;
    factory_incr(&f->api);
    return m;
}

static cbison_matcher_t tiny_new_matcher(cbison_factory_t api, const char *type, const char *grammar) {
    tiny_factory *f = (tiny_factory *)api;
    tiny_matcher *m = matcher_alloc(f);
    char err[300] = "";
    if (check_type(type, err, sizeof err) == 0 && grammar) m->g = prog_compile(grammar, err, sizeof err);
    if (!m->g) {
        m->error = malloc(320);
        snprintf(m->error, 320, "%s", err[0] ? err : "NULL grammar");
    }
    return m;
}

static const char *tiny_get_error(cbison_matcher_t m) { return m->error; }

static int current(tiny_matcher *m) { return m->stack[m->depth - 1]; }

static void push(tiny_matcher *m, int state) {
    if (m->depth == m->cap) {
        m->cap *= 2;
        m->stack = realloc(m->stack, sizeof(int) * m->cap);
    }
    m->stack[m->depth++] = state;
}

/* the state after token t from state d: -1 refused, EOS_MARK for an accepted EOS */
static int token_step(tiny_matcher *m, int d, uint32_t t) {
    tiny_factory *f = m->f;
    if (d == EOS_MARK || t >= f->n_vocab) return -1;
    if (f->special[t]) return (t == f->eos && m->g->accept[d]) ? EOS_MARK : -1;
    if (f->lens[t] == 0) return -1;
    for (uint32_t i = 0; i < f->lens[t] && d >= 0; i++) d = dfa_step(m->g, d, f->bytes[t][i]);
    return d;
}

static int32_t tiny_compute_mask(cbison_matcher_t m, uint32_t *dest, size_t len) {
    tiny_factory *f = m->f;
    if (m->error) return -1;
    if (len != f->api.mask_byte_len || !dest) return set_error(m, "compute_mask: mask_byte_len %lu is wrong", len);
    memset(dest, 0, len);
    int d = current(m);
    if (d == EOS_MARK) return 0;
    for (uint32_t t = 0; t < f->n_vocab; t++)
        if (token_step(m, d, t) != -1) dest[t >> 5] |= 1u << (t & 31);
    return m->g->overflow ? set_error(m, "regex too complex (DFA above %lu states)", MAX_DFA) : 0;
}

static int32_t tiny_consume_tokens(cbison_matcher_t m, const uint32_t *tokens, size_t n) {
    if (m->error) return -1;
    for (size_t i = 0; i < n; i++) {
        int next = token_step(m, current(m), tokens[i]);
        if (next == -1) return set_error(m, "token %lu is not allowed here", tokens[i]);
        push(m, next);
    }
    return 0;
}

static bool tiny_is_accepting(cbison_matcher_t m) {
    if (m->error) return false;
    int d = current(m);
    return d == EOS_MARK || m->g->accept[d];
}

static bool tiny_is_stopped(cbison_matcher_t m) {
    if (m->error) return true;
    int d = current(m);
    return d == EOS_MARK || (m->g->accept[d] && dfa_stuck(m->g, d));
}

static int32_t tiny_validate_tokens(cbison_matcher_t m, const uint32_t *tokens, size_t n) {
    if (m->error) return -1;
    int d = current(m);
    size_t k = 0;
    for (; k < n; k++) {
        d = token_step(m, d, tokens[k]);
        if (d == -1) break;
    }
    return (int32_t)k;
}

static int32_t tiny_compute_ff_tokens(cbison_matcher_t m, uint32_t *out, size_t out_len) {
    if (m->error) return -1;
    cbison_tokenizer_t tok = m->f->tok;
    int d = current(m);
    if (d == EOS_MARK || !tok->tokenize_bytes) return 0;
    char forced[256];
    size_t n = 0;
    while (n < sizeof forced && !m->g->accept[d]) {
        int only = -1, count = 0;
        for (int b = 0; b < 256 && count < 2; b++)
            if (dfa_step(m->g, d, b) >= 0) { only = b; count++; }
        if (count != 1) break;
        forced[n++] = (char)only;
        d = dfa_step(m->g, d, only);
    }
    int complete = m->g->accept[d] && dfa_stuck(m->g, d); /* nothing can follow the bytes */
    while (n > 0) { /* end on a whole UTF-8 character */
        size_t i = n - 1, need;
        while (i > 0 && ((unsigned char)forced[i] & 0xC0) == 0x80) i--;
        unsigned char lead = (unsigned char)forced[i];
        need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (i + need == n) break;
        n = i;
        complete = 0;
    }
    if (n == 0) return 0;
    uint32_t toks[256];
    size_t k = tok->tokenize_bytes(tok, forced, n, toks, 256);
    if (k > 256) k = 256;
    if (!complete && k > 0) k--; /* the last token could merge with what follows */
    size_t ok = 0;
    for (int s = current(m); ok < k; ok++) { /* keep the prefix the grammar accepts */
        s = token_step(m, s, toks[ok]);
        if (s < 0) break;
    }
    if (ok > out_len) ok = out_len;
    memcpy(out, toks, ok * sizeof(uint32_t));
    return (int32_t)ok;
}

static void tiny_free_matcher(cbison_matcher_t m) {
    tiny_factory *f = m->f;
    prog_free(m->g);
    free(m->stack);
    free(m->error);
    free(m);
    factory_decr(&f->api);
}

static int32_t tiny_rollback(cbison_matcher_t m, size_t n) {
    if (m->error) return -1;
    if (n >= m->depth) return set_error(m, "rollback(%lu): more tokens than were consumed", n);
    m->depth -= n;
    return 0;
}

static int32_t tiny_reset(cbison_matcher_t m) {
    if (m->error) return -1;
    m->depth = 1;
    return 0;
}

static cbison_matcher_t tiny_clone(cbison_matcher_t m) {
    tiny_matcher *c = matcher_alloc(m->f);
    c->g = m->g;
    if (c->g) c->g->refs++;
    free(c->stack);
    c->cap = m->cap;
    c->depth = m->depth;
    c->stack = malloc(sizeof(int) * c->cap);
    memcpy(c->stack, m->stack, sizeof(int) * m->depth);
    if (m->error) c->error = strdup(m->error);
    return c;
}

static int32_t tiny_compute_masks(cbison_factory_t api, cbison_mask_req_t *reqs, size_t n) {
    int32_t rc = 0;
    for (size_t i = 0; i < n; i++)
        if (tiny_compute_mask(reqs[i].matcher, reqs[i].mask_dest, api->mask_byte_len) != 0) rc = -1;
    return rc;
}

static int option_true(const char *json, const char *key) {
    const char *p = json ? strstr(json, key) : NULL;
    if (!p) return 0;
    p = strchr(p + strlen(key), ':');
    while (p && (*++p == ' ')) {}
    return p && !strncmp(p, "true", 4);
}

static int option_is(const char *json, const char *key, const char *value) {
    const char *p = json ? strstr(json, key) : NULL;
    return p && strstr(p + strlen(key), value) != NULL;
}

cbison_factory_t tiny_cbison_new_factory(cbison_tokenizer_t tok, const char *options_json,
                                         char *error_string, size_t error_string_len) {
    if (!tok || tok->magic != CBISON_TOKENIZER_MAGIC || tok->version_major != CBISON_TOKENIZER_VERSION_MAJOR) {
        snprintf(error_string, error_string_len, "tiny engine: not a cbison_tokenizer 1.x (magic 0x%08x)",
                 tok ? tok->magic : 0u);
        return NULL;
    }
    if (tok->n_vocab == 0 || tok->n_vocab > (1u << 24)) {
        snprintf(error_string, error_string_len, "tiny engine: bad n_vocab %zu", tok->n_vocab);
        return NULL;
    }
    tiny_factory *f = calloc(1, sizeof *f);
    f->refs = 1;
    f->tok = tok;
    f->n_vocab = tok->n_vocab;
    f->eos = tok->eos_token_id;
    f->bytes = calloc(f->n_vocab, sizeof(uint8_t *));
    f->lens = calloc(f->n_vocab, sizeof(uint32_t));
    f->special = calloc(f->n_vocab, 1);
    uint8_t buf[512];
    for (size_t t = 0; t < f->n_vocab; t++) {
        int len = tok->get_token(tok, (uint32_t)t, buf, sizeof buf);
        if (len < 0) len = 0;
        f->bytes[t] = malloc((size_t)len + 1);
        if ((size_t)len > sizeof buf) tok->get_token(tok, (uint32_t)t, f->bytes[t], (size_t)len);
        else memcpy(f->bytes[t], buf, (size_t)len);
        f->lens[t] = (uint32_t)len;
        f->special[t] = tok->is_special_token(tok, (uint32_t)t) == 1;
    }
    if (tok->incr_ref_count) tok->incr_ref_count(tok);

    struct cbison_factory *a = &f->api;
    a->magic = CBISON_FACTORY_MAGIC;
    a->impl_magic = 0x7117e001u;
    a->version_major = CBISON_FACTORY_VERSION_MAJOR;
    a->version_minor = CBISON_FACTORY_VERSION_MINOR;
    a->n_vocab = f->n_vocab;
    a->mask_byte_len = (f->n_vocab + 31) / 32 * 4;
    a->eos_token_id = f->eos;
    a->impl_data = f;
    a->incr_ref_count = factory_incr;
    a->decr_ref_count = factory_decr;
    a->validate_grammar = tiny_validate_grammar;
    a->new_matcher = tiny_new_matcher;
    a->get_error = tiny_get_error;
    a->compute_mask = tiny_compute_mask;
    a->consume_tokens = tiny_consume_tokens;
    a->is_accepting = tiny_is_accepting;
    a->is_stopped = tiny_is_stopped;
    a->free_matcher = tiny_free_matcher;
    if (!option_true(options_json, "\"minimal\"")) {
        a->validate_tokens = tiny_validate_tokens;
        a->compute_ff_tokens = tiny_compute_ff_tokens;
        a->rollback = tiny_rollback;
        a->reset = tiny_reset;
        a->clone_matcher = tiny_clone;
        a->compute_masks = tiny_compute_masks;
    }
    if (option_is(options_json, "\"corrupt\"", "\"magic\"")) a->magic = 0xdeadbeefu;
    if (option_is(options_json, "\"corrupt\"", "\"version\"")) a->version_major = 2;
    return a;
}

/* live factories are not tracked; tiny_factory_refs lets tests observe the count */
int tiny_factory_refs(cbison_factory_t api) { return ((tiny_factory *)api)->refs; }
