/*
 * Our own declaration of the CBISON binary interface (factory 1.0, tokenizer 1.0), shipped with
 * instructor_py for C code that uses an exported factory or tokenizer (compile with
 * -I"$(python -c 'import instructor_py.local.cbison as c; print(c.include_dir())')").
 * The layout follows the public reference header
 * (guidance-ai/cbison, cpp/cbison_api.h) field by field: same order, same types, same reserved
 * arrays, so objects built on either side can be exchanged.
 */
#ifndef INSTRUCTOR_PY_CBISON_API_H
#define INSTRUCTOR_PY_CBISON_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CBISON_FACTORY_MAGIC 0x1bb53ed3u
#define CBISON_FACTORY_VERSION_MAJOR 1
#define CBISON_FACTORY_VERSION_MINOR 0
#define CBISON_TOKENIZER_MAGIC 0xff79e338u
#define CBISON_TOKENIZER_VERSION_MAJOR 1
#define CBISON_TOKENIZER_VERSION_MINOR 0

struct cbison_matcher; /* opaque: only the engine knows what is behind it */
typedef struct cbison_matcher *cbison_matcher_t;
typedef struct cbison_factory *cbison_factory_t;
typedef struct cbison_tokenizer *cbison_tokenizer_t;
typedef struct cbison_mask_req cbison_mask_req_t;

/* Handed by the inference system to the grammar engine. */
struct cbison_tokenizer {
    uint32_t magic;         /* CBISON_TOKENIZER_MAGIC */
    uint32_t impl_magic;    /* free for the implementation */
    uint32_t version_major; /* incompatible changes */
    uint32_t version_minor; /* compatible additions */
    size_t n_vocab;
    uint32_t eos_token_id;
    bool tokenize_bytes_requires_utf8;
    uint32_t reserved_hd[6];
    void *impl_data;
    /* bytes of token_id: returns the full length (may exceed bytes_len; at most bytes_len
       bytes are written, no NUL), or -1 when token_id >= n_vocab */
    int (*get_token)(cbison_tokenizer_t api, uint32_t token_id, uint8_t *bytes,
                     size_t bytes_len);
    /* 1 special, 0 normal, -1 out of range */
    int (*is_special_token)(cbison_tokenizer_t api, uint32_t token_id);
    /* returns how many tokens the bytes need (writes at most output_tokens_len); optional */
    size_t (*tokenize_bytes)(cbison_tokenizer_t api, const char *bytes, size_t bytes_len,
                             uint32_t *output_tokens, size_t output_tokens_len);
    void (*incr_ref_count)(cbison_tokenizer_t api);
    void (*decr_ref_count)(cbison_tokenizer_t api);
    void *reserved_ptr[16];
};

/* Built by the grammar engine for one tokenizer: makes matchers and runs their methods. */
struct cbison_factory {
    uint32_t magic; /* CBISON_FACTORY_MAGIC */
    uint32_t impl_magic;
    uint32_t version_major;
    uint32_t version_minor;
    size_t n_vocab;
    size_t mask_byte_len; /* (n_vocab + 31) / 32 * 4 */
    uint32_t eos_token_id;
    uint32_t reserved_hd[7];
    void *impl_data;
    void (*incr_ref_count)(cbison_factory_t api);
    void (*decr_ref_count)(cbison_factory_t api);
    /* 0 ok, 1 warning, -1 error; message is always NUL-terminated */
    int32_t (*validate_grammar)(cbison_factory_t api, const char *grammar_type,
                                const char *grammar, char *message, size_t message_len);
    /* never NULL: a bad grammar gives a matcher whose get_error() says why */
    cbison_matcher_t (*new_matcher)(cbison_factory_t api, const char *grammar_type,
                                    const char *grammar);
    const char *(*get_error)(cbison_matcher_t matcher); /* NULL when there is no error */
    int32_t (*compute_mask)(cbison_matcher_t matcher, uint32_t *mask_dest,
                            size_t mask_byte_len);
    int32_t (*consume_tokens)(cbison_matcher_t matcher, const uint32_t *tokens,
                              size_t n_tokens);
    bool (*is_accepting)(cbison_matcher_t matcher);
    bool (*is_stopped)(cbison_matcher_t matcher);
    int32_t (*validate_tokens)(cbison_matcher_t matcher, const uint32_t *tokens,
                               size_t n_tokens);
    int32_t (*compute_ff_tokens)(cbison_matcher_t matcher, uint32_t *output,
                                 size_t output_len); /* optional */
    void (*free_matcher)(cbison_matcher_t matcher);
    int32_t (*rollback)(cbison_matcher_t matcher, size_t num_tokens); /* optional */
    int32_t (*reset)(cbison_matcher_t matcher);                       /* optional */
    cbison_matcher_t (*clone_matcher)(cbison_matcher_t matcher);      /* optional */
    int32_t (*compute_masks)(cbison_factory_t api, cbison_mask_req_t *reqs,
                             size_t n_reqs); /* optional */
    void *reserved_ptr[16];
};

/* One entry of a batched compute_masks() call. */
struct cbison_mask_req {
    cbison_matcher_t matcher;
    uint32_t *mask_dest; /* mask_byte_len bytes */
};

/* A grammar engine's shared library exports <prefix>_cbison_new_factory with this type. */
typedef cbison_factory_t (*cbison_new_factory_fn_t)(cbison_tokenizer_t tokenizer,
                                                    const char *options_json,
                                                    char *error_string,
                                                    size_t error_string_len);

#endif
