/* fuzz_rules.c — libFuzzer target for the GQSHIM_RULES parser.
 *
 * Properties held for every input:
 *  - the parser returns 0 or -1 and never reads outside the span;
 *  - an error is one bounded line starting with GQSHIM_RULES, and no rules;
 *  - a success yields only valid rules (every key within its documented range,
 *    unique names), and print is a fixed point: parse(print(r)) succeeds and
 *    prints the same text with the same fields;
 *  - single-threaded, gq_rules_would_match predicts gq_rules_match exactly, and
 *    a matched rule really passes its own on/size filter.
 */
#include "gq_rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz_rules: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static struct gq_rules parsed, again;
static char printed[4 * GQ_RULES_INPUT_MAX], reprinted[4 * GQ_RULES_INPUT_MAX];

static void check_valid(const struct gq_rules *rs)
{
    CHECK(rs->count <= GQ_RULES_MAX);
    for (unsigned i = 0; i < rs->count; i++) {
        const struct gq_rule *r = &rs->rule[i];
        CHECK(r->index == i);
        CHECK(r->on == GQ_ON_HOST || r->on == GQ_ON_DEV);
        CHECK(r->min <= r->max);
        CHECK(r->nsizes <= GQ_RULE_SIZES_MAX);
        CHECK((r->nth_lo == 0 && r->nth_hi == 0) || (r->nth_lo >= 1 && r->nth_lo <= r->nth_hi));
        CHECK(r->dtype == GQ_RULE_F16 || r->dtype == GQ_RULE_BF16 || r->dtype == GQ_RULE_F32);
        CHECK(r->bits == 2 || r->bits == 4 || r->bits == 8);
        CHECK(r->group % 2 == 0 && r->group >= GQ_RULE_GROUP_MIN && r->group <= GQ_RULE_GROUP_MAX);
        if (r->dim == GQ_RULE_DIM_0)
            CHECK(r->cols >= 1 && r->cols <= GQ_RULE_COLS_MAX);
        else
            CHECK(r->dim == GQ_RULE_DIM_LAST && r->cols == 0);
        size_t nl = strnlen(r->name, sizeof r->name);
        CHECK(nl >= 1 && nl <= GQ_RULE_NAME_MAX);
        for (unsigned j = 0; j < i; j++)
            CHECK(strcmp(r->name, rs->rule[j].name) != 0);
        CHECK(atomic_load(&r->seen) == 0);
    }
}

static void check_same(const struct gq_rule *a, const struct gq_rule *b)
{
    CHECK(a->on == b->on && a->min == b->min && a->max == b->max);
    CHECK(a->nsizes == b->nsizes);
    CHECK(memcmp(a->sizes, b->sizes, a->nsizes * sizeof a->sizes[0]) == 0);
    CHECK(a->nth_lo == b->nth_lo && a->nth_hi == b->nth_hi);
    CHECK(a->dtype == b->dtype && a->bits == b->bits && a->group == b->group);
    CHECK(a->dim == b->dim && a->cols == b->cols);
    CHECK(strcmp(a->name, b->name) == 0 && a->named == b->named && a->index == b->index);
}

static void check_matching(struct gq_rules *rs, const uint8_t *data, size_t size)
{
    /* Probe sizes: the rules' own bounds and a few taken from the input. */
    uint64_t probes[8] = { 0, 1, 4096, UINT64_MAX, 0, 0, 0, 0 };
    for (unsigned k = 0; k < 4 && (k + 1) * 8 <= size; k++)
        memcpy(&probes[4 + k], data + k * 8, 8);
    for (unsigned i = 0; i < rs->count && i < 4; i++)
        probes[4 + i] = (i & 1) ? rs->rule[i].max : rs->rule[i].min;
    for (int round = 0; round < 3; round++) {
        for (unsigned p = 0; p < 8; p++) {
            for (int on = GQ_ON_HOST; on <= GQ_ON_DEV; on++) {
                const struct gq_rule *w = gq_rules_would_match(rs, (enum gq_on)on, probes[p]);
                const struct gq_rule *m = gq_rules_match(rs, (enum gq_on)on, probes[p]);
                CHECK(w == m);
                if (m) {
                    CHECK(m->on == (enum gq_on)on);
                    CHECK(gq_rule_size_ok(m, probes[p]));
                }
            }
        }
    }
    gq_rules_reset_counts(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[GQ_RULES_ERR_MAX];
    /* Exercise the span form: no terminator after the input. */
    int rc = gq_rules_parse_span((const char *)data, size, &parsed, err, sizeof err);
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        CHECK(parsed.count == 0);
        CHECK(strncmp(err, "GQSHIM_RULES", 12) == 0);
        CHECK(strlen(err) < sizeof err && strchr(err, '\n') == NULL);
        return 0;
    }
    CHECK(err[0] == '\0');
    check_valid(&parsed);

    int n = gq_rules_format(&parsed, printed, sizeof printed);
    CHECK(n >= 0 && (size_t)n < sizeof printed && (size_t)n == strlen(printed));
    CHECK(n <= GQ_RULES_INPUT_MAX); /* the canonical form is never longer than its source */
    CHECK(gq_rules_parse(printed, &again, err, sizeof err) == 0);
    CHECK(again.count == parsed.count);
    for (unsigned i = 0; i < parsed.count; i++)
        check_same(&parsed.rule[i], &again.rule[i]);
    CHECK(gq_rules_format(&again, reprinted, sizeof reprinted) == n);
    CHECK(strcmp(printed, reprinted) == 0);

    check_matching(&parsed, data, size);
    return 0;
}
