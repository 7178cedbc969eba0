/* hf_config.c — config.json → lf_config, with every field type-checked. */
#include "hf_config.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "safetensors.h"

static lf_status get_int(cJSON *root, const char *key, int required, int *v, const char *name) {
    cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return required ? lf_fail(LINFER_ERR_FORMAT, "%s: missing field '%s'", name, key) : LINFER_OK;
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > 2147483647.0)
        return lf_fail(LINFER_ERR_FORMAT, "%s: field '%s' must be an integer", name, key);
    *v = (int)it->valuedouble;
    return LINFER_OK;
}
static lf_status get_num(cJSON *root, const char *key, int required, float *v, const char *name) {
    cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return required ? lf_fail(LINFER_ERR_FORMAT, "%s: missing field '%s'", name, key) : LINFER_OK;
    if (!cJSON_IsNumber(it)) return lf_fail(LINFER_ERR_FORMAT, "%s: field '%s' must be a number", name, key);
    *v = (float)it->valuedouble;
    return LINFER_OK;
}
static lf_status get_bool(cJSON *root, const char *key, int *v, const char *name) {
    cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return LINFER_OK;
    if (!cJSON_IsBool(it)) return lf_fail(LINFER_ERR_FORMAT, "%s: field '%s' must be true or false", name, key);
    *v = cJSON_IsTrue(it);
    return LINFER_OK;
}

lf_status lf_config_from_json(const char *json, size_t len, const char *name, lf_config *c) {
    memset(c, 0, sizeof *c);
    long bad = lf_utf8_invalid_at(json, len);
    if (bad >= 0) return lf_fail(LINFER_ERR_FORMAT, "%s: not valid UTF-8 (byte %ld)", name, bad);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return lf_fail(LINFER_ERR_FORMAT, "%s: not valid JSON", name);
    lf_status s = LINFER_OK;
    if (!cJSON_IsObject(root)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: not a JSON object", name); goto done; }
    cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: missing string field 'model_type'", name); goto done; }
    if (strcmp(mt->valuestring, "llama") && strcmp(mt->valuestring, "mistral")) {
        s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: model_type '%.40s' is not supported (supported: llama, mistral)", name, mt->valuestring);
        goto done;
    }
    cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (archs) {
        if (!cJSON_IsArray(archs)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: 'architectures' must be a list", name); goto done; }
        for (cJSON *a = archs->child; a; a = a->next)
            if (!cJSON_IsString(a) || (strcmp(a->valuestring, "LlamaForCausalLM") && strcmp(a->valuestring, "MistralForCausalLM"))) {
                s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: architecture '%.40s' is not supported (supported: LlamaForCausalLM, MistralForCausalLM)", name,
                            cJSON_IsString(a) ? a->valuestring : "?");
                goto done;
            }
    }
    snprintf(c->arch, sizeof c->arch, "%s", mt->valuestring);
    c->rope_theta = 10000.0f;
    c->norm_eps = 1e-6f;
    c->bos_id = -1;
    c->rope_style = LF_ROPE_NEOX;
    c->max_context = 2048;
    if ((s = get_int(root, "hidden_size", 1, &c->dim, name)) || (s = get_int(root, "intermediate_size", 1, &c->ffn_dim, name)) ||
        (s = get_int(root, "num_hidden_layers", 1, &c->n_layers, name)) || (s = get_int(root, "num_attention_heads", 1, &c->n_heads, name)) ||
        (s = get_int(root, "vocab_size", 1, &c->vocab_size, name)) || (s = get_int(root, "max_position_embeddings", 0, &c->max_context, name)) ||
        (s = get_num(root, "rms_norm_eps", 0, &c->norm_eps, name)) || (s = get_num(root, "rope_theta", 0, &c->rope_theta, name)) ||
        (s = get_bool(root, "tie_word_embeddings", &c->tie_embeddings, name)) || (s = get_bool(root, "attention_bias", &c->qkv_bias, name)))
        goto done;
    c->n_kv_heads = c->n_heads;
    if ((s = get_int(root, "num_key_value_heads", 0, &c->n_kv_heads, name))) goto done;
    c->head_dim = c->n_heads > 0 ? c->dim / c->n_heads : 0;
    if ((s = get_int(root, "head_dim", 0, &c->head_dim, name))) goto done;
    int mlp_bias = 0;
    if ((s = get_bool(root, "mlp_bias", &mlp_bias, name))) goto done;
    if (mlp_bias) { s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: field 'mlp_bias' = true is not supported", name); goto done; }
    cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu"))) {
        s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: field 'hidden_act' = '%.20s' is not supported (only silu)", name, cJSON_IsString(act) ? act->valuestring : "?");
        goto done;
    }
    cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (sw && !cJSON_IsNull(sw)) {
        if (!cJSON_IsNumber(sw)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: field 'sliding_window' must be a number or null", name); goto done; }
        if (sw->valuedouble < c->max_context) {
            s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: field 'sliding_window' = %g (sliding-window attention) is not supported", name, sw->valuedouble);
            goto done;
        }
    }
    cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "pretraining_tp");
    if (pt && cJSON_IsNumber(pt) && pt->valuedouble > 1) {
        s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: field 'pretraining_tp' = %g is not supported", name, pt->valuedouble);
        goto done;
    }
    /* transformers >= 5 writes "rope_parameters" {rope_theta, rope_type, factor, ...} instead of
     * rope_theta + rope_scaling; accept both */
    cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (rs && !cJSON_IsNull(rs)) {
        if (!cJSON_IsObject(rs)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: field 'rope_parameters' must be an object", name); goto done; }
        if ((s = get_num(rs, "rope_theta", 0, &c->rope_theta, name))) goto done;
    } else
        rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        if (!cJSON_IsObject(rs)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: field 'rope_scaling' must be an object or null", name); goto done; }
        cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
        if (!ty) ty = cJSON_GetObjectItemCaseSensitive(rs, "type");
        if (!cJSON_IsString(ty)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: rope_scaling needs a string 'rope_type'", name); goto done; }
        if (!strcmp(ty->valuestring, "llama3")) {
            c->rope_scaling = LF_ROPE_SCALING_LLAMA3;
            if ((s = get_num(rs, "factor", 1, &c->rope_factor, name)) || (s = get_num(rs, "low_freq_factor", 1, &c->rope_low_freq_factor, name)) ||
                (s = get_num(rs, "high_freq_factor", 1, &c->rope_high_freq_factor, name)) ||
                (s = get_int(rs, "original_max_position_embeddings", 1, &c->rope_orig_context, name)))
                goto done;
        } else if (!strcmp(ty->valuestring, "linear")) {
            c->rope_scaling = LF_ROPE_SCALING_LINEAR;
            if ((s = get_num(rs, "factor", 1, &c->rope_factor, name))) goto done;
        } else if (strcmp(ty->valuestring, "default")) {
            s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: rope_scaling type '%.20s' is not supported (supported: llama3, linear)", name, ty->valuestring);
            goto done;
        }
    }
    if ((s = get_int(root, "bos_token_id", 0, &c->bos_id, name))) goto done;
    cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    if (cJSON_IsNumber(eos)) {
        if (!(eos->valuedouble >= 0 && eos->valuedouble < 2147483647.0)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: eos_token_id %g out of range", name, eos->valuedouble); goto done; }
        c->eos_ids[c->n_eos++] = (int)eos->valuedouble;
    } else if (cJSON_IsArray(eos)) {
        for (cJSON *e = eos->child; e && c->n_eos < LF_MAX_EOS; e = e->next) {
            if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble < 2147483647.0)) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: eos_token_id entries must be integers in range", name);
                goto done;
            }
            c->eos_ids[c->n_eos++] = (int)e->valuedouble;
        }
    } else if (eos && !cJSON_IsNull(eos)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: eos_token_id must be an integer or a list", name); goto done; }
    c->add_bos = c->bos_id >= 0;
    s = lf_config_validate(c, name);
done:
    cJSON_Delete(root);
    return s;
}
