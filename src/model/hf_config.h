/* hf_config.h — reading an HF `config.json` (LlamaForCausalLM family) into lf_config.
 * Unsupported architectures and fields are refused by name. Parses from a buffer (fuzzable). */
#ifndef LF_HF_CONFIG_H
#define LF_HF_CONFIG_H
#include <stddef.h>
#include "model.h"
lf_status lf_config_from_json(const char *json, size_t len, const char *name, lf_config *c);
#endif
