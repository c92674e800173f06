/*
 * alt: a CBISON engine that implements a subset of the "regex" grammar type: literal
 * alternations only, "(yes|no|maybe)" (a parenthesised list of at least two options, each made of
 * letters, digits, spaces, '_' and '-'). Anything else -- classes, repetition, a single literal,
 * other grammar types -- is refused by validate_grammar and by new_matcher with a message that
 * names what is wrong. What it accepts it runs on the tiny engine (tiny_engine.c, included).
 *
 * Entry point: alt_cbison_new_factory(tokenizer, options_json, err, errlen); the options are the
 * tiny engine's.
 */
#include "tiny_engine.c"

static int is_literal_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == ' ' || c == '_' || c == '-';
}

/* 0 if `grammar` is a literal alternation; else -1 with the reason in err */
static int alt_check(const char *type, const char *grammar, char *err, size_t errlen) {
    if (!type || strcmp(type, "regex")) {
        snprintf(err, errlen, "alt engine: grammar type '%s' is not supported; it reads only "
                 "literal alternations like (yes|no) of type 'regex'", type ? type : "(null)");
        return -1;
    }
    size_t n = grammar ? strlen(grammar) : 0;
    if (n < 2 || grammar[0] != '(' || grammar[n - 1] != ')') {
        snprintf(err, errlen, "alt engine: only literal alternations like (yes|no) are supported; "
                 "the regex is not a parenthesised list of options");
        return -1;
    }
    int options = 1;
    size_t len = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = grammar[i];
        if (c == '|') {
            if (!len) break;
            options++;
            len = 0;
        } else if (is_literal_char(c)) {
            len++;
        } else {
            snprintf(err, errlen, "alt engine: only literal alternations like (yes|no) are "
                     "supported; '%c' at offset %zu is not a literal character", c, i);
            return -1;
        }
    }
    if (!len || options < 2) {
        snprintf(err, errlen, "alt engine: only literal alternations like (yes|no) are supported; "
                 "it needs at least two non-empty options");
        return -1;
    }
    return 0;
}

static int32_t alt_validate_grammar(cbison_factory_t api, const char *type, const char *grammar,
                                    char *message, size_t message_len) {
    char err[300] = "";
    if (alt_check(type, grammar, err, sizeof err)) {
        if (message && message_len) snprintf(message, message_len, "%s", err);
        return -1;
    }
    return tiny_validate_grammar(api, type, grammar, message, message_len);
}

static cbison_matcher_t alt_new_matcher(cbison_factory_t api, const char *type, const char *grammar) {
    char err[300] = "";
    if (alt_check(type, grammar, err, sizeof err)) {
        tiny_matcher *m = matcher_alloc((tiny_factory *)api);
        m->error = malloc(320);
        snprintf(m->error, 320, "%s", err);
        return m;
    }
    return tiny_new_matcher(api, type, grammar);
}

cbison_factory_t alt_cbison_new_factory(cbison_tokenizer_t tok, const char *options_json,
                                        char *error_string, size_t error_string_len) {
    cbison_factory_t a = tiny_cbison_new_factory(tok, options_json, error_string, error_string_len);
    if (!a) return NULL;
    a->impl_magic = 0xa17e0001u;
    a->validate_grammar = alt_validate_grammar;
    a->new_matcher = alt_new_matcher;
    return a;
}
