/*
 * test_vnfmt.c - Vietnamese number formats (DOMAIN.md reference figures)
 * and UTF-8 padding.
 */
#include "chiso/vnfmt.h"

#include <math.h>

#include "check.h"

int main(void)
{
    char b[64];
    static const struct {
        long long v;
        const char *want;
    } ints[] = {{0, "0"},
                {7, "7"},
                {999, "999"},
                {1000, "1.000"},
                {267922, "267.922"},
                {464494, "464.494"},
                {1234567, "1.234.567"},
                {-2126, "-2.126"}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        CHECK_EQ_STR(chiso_vnfmt_int(ints[i].v, b, sizeof(b)), ints[i].want, "int");

    static const struct {
        double f;
        int dec;
        const char *want;
    } pcts[] = {
        {15700.0 / 16095.0, 2, "97,55%"}, /* departments on time: 97.546... */
        {228831.0 / 230561.0, 1, "99,2%"},
        {103470.0 / 115479.0, 1, "89,6%"},
        {137236.0 / 148667.0, 2, "92,31%"},
        {45.0 / 70.0, 1, "64,3%"},
        {1.0, 0, "100%"},
        {0.0, 1, "0,0%"},
        {0.7, 0, "70%"},
    };
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
        CHECK_EQ_STR(chiso_vnfmt_pct(pcts[i].f, pcts[i].dec, b, sizeof(b)), pcts[i].want, "pct");
    CHECK_EQ_STR(chiso_vnfmt_pct(NAN, 1, b, sizeof(b)), "—", "no data");
    CHECK_EQ_STR(chiso_vnfmt_dec(74.88, 2, b, sizeof(b)), "74,88", "score");
    CHECK_EQ_STR(chiso_vnfmt_dec(1234.5, 1, b, sizeof(b)), "1.234,5", "grouped decimal");

    CHECK_EQ_INT(chiso_utf8_width("Phường Phố Hiến"), 15, "width of a Vietnamese name");
    CHECK_EQ_INT(chiso_utf8_width("Hu\xcc\x9b\xcc\x81ng"), 4, "combining marks take no column");
    CHECK_EQ_STR(chiso_utf8_pad("Sở Y tế", 9, b, sizeof(b)), "Sở Y tế  ", "pad");
    CHECK_EQ_STR(chiso_utf8_pad("Phường Phố Hiến", 6, b, sizeof(b)), "Phường", "cut");
    CHECK_EQ_STR(chiso_utf8_rjust("89,6%", 8, b, sizeof(b)), "   89,6%", "right-aligned");
    CHECK_EQ_STR(chiso_utf8_rjust("Đúng hạn", 10, b, sizeof(b)), "  Đúng hạn", "by characters");
    CHECK_EQ_STR(chiso_utf8_rjust("Tiếp nhận", 4, b, sizeof(b)), "Tiếp", "cut when too wide");
    return CHECK_DONE();
}
