/* Prints offsetof / sizeof of every field of the CBISON structs, from our C declaration:
   "struct.field offset size" lines and "struct#size N" lines. */
#include <stdio.h>

#include "cbison_api.h"

#define FIELD(S, F) printf(#S "." #F " %zu %zu\n", offsetof(struct S, F), sizeof(((struct S *)0)->F))
#define SIZE(S) printf(#S "#size %zu\n", sizeof(struct S))

int main(void) {
    SIZE(cbison_tokenizer);
    FIELD(cbison_tokenizer, magic);
    FIELD(cbison_tokenizer, impl_magic);
    FIELD(cbison_tokenizer, version_major);
    FIELD(cbison_tokenizer, version_minor);
    FIELD(cbison_tokenizer, n_vocab);
    FIELD(cbison_tokenizer, eos_token_id);
    FIELD(cbison_tokenizer, tokenize_bytes_requires_utf8);
    FIELD(cbison_tokenizer, reserved_hd);
    FIELD(cbison_tokenizer, impl_data);
    FIELD(cbison_tokenizer, get_token);
    FIELD(cbison_tokenizer, is_special_token);
    FIELD(cbison_tokenizer, tokenize_bytes);
    FIELD(cbison_tokenizer, incr_ref_count);
    FIELD(cbison_tokenizer, decr_ref_count);
    FIELD(cbison_tokenizer, reserved_ptr);

    SIZE(cbison_factory);
    FIELD(cbison_factory, magic);
    FIELD(cbison_factory, impl_magic);
    FIELD(cbison_factory, version_major);
    FIELD(cbison_factory, version_minor);
    FIELD(cbison_factory, n_vocab);
    FIELD(cbison_factory, mask_byte_len);
    FIELD(cbison_factory, eos_token_id);
    FIELD(cbison_factory, reserved_hd);
    FIELD(cbison_factory, impl_data);
    FIELD(cbison_factory, incr_ref_count);
    FIELD(cbison_factory, decr_ref_count);
    FIELD(cbison_factory, validate_grammar);
    FIELD(cbison_factory, new_matcher);
    FIELD(cbison_factory, get_error);
    FIELD(cbison_factory, compute_mask);
    FIELD(cbison_factory, consume_tokens);
    FIELD(cbison_factory, is_accepting);
    FIELD(cbison_factory, is_stopped);
    FIELD(cbison_factory, validate_tokens);
    FIELD(cbison_factory, compute_ff_tokens);
    FIELD(cbison_factory, free_matcher);
    FIELD(cbison_factory, rollback);
    FIELD(cbison_factory, reset);
    FIELD(cbison_factory, clone_matcher);
    FIELD(cbison_factory, compute_masks);
    FIELD(cbison_factory, reserved_ptr);

    SIZE(cbison_mask_req);
    FIELD(cbison_mask_req, matcher);
    FIELD(cbison_mask_req, mask_dest);
    return 0;
}
