/* test_json_scan.c — tc/json_scan.h: the allocation-free validator and
 * member lookup that the request path uses instead of a full decode. Each
 * case also asks jansson, so a disagreement shows up here (the fuzz target
 * json_scan runs the same comparison on generated input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "tc/json_scan.h"

static enum tc_json_kind check(const char *s) {
  return tc_json_check(s, strlen(s));
}

/* jansson's verdict on the same text (any top-level value). */
static int jansson_accepts(const char *s) {
  json_error_t e;
  json_t *v = json_loadb(s, strlen(s), JSON_DECODE_ANY, &e);
  json_decref(v);
  return v != NULL;
}

static void test_kinds(void **state) {
  (void)state;
  assert_int_equal(check("{}"), TC_JSON_OBJECT);
  assert_int_equal(check(" \r\n\t{ \"a\" : [1, 2.5e-3, -0, true] } \n"),
                   TC_JSON_OBJECT);
  assert_int_equal(check("[]"), TC_JSON_ARRAY);
  assert_int_equal(check("\"x\""), TC_JSON_STRING);
  assert_int_equal(check("-12.5E+3"), TC_JSON_NUMBER);
  assert_int_equal(check("true"), TC_JSON_TRUE);
  assert_int_equal(check("false"), TC_JSON_FALSE);
  assert_int_equal(check("null"), TC_JSON_NULL);
}

static void test_rejects_what_jansson_rejects(void **state) {
  (void)state;
  static const char *bad[] = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":}",
      "{\"a\" 1}",
      "{,}",
      "{\"a\":1,}",
      "{1:2}",
      "[1 2]",
      "01",
      "1.",
      ".5",
      "1e",
      "-",
      "+1",
      "tru",
      "nul",
      "True",
      "\"abc",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u0000\"",
      "\"\\ud800\"",
      "\"\\udc00\"",
      "\"\\ud800\\u0041\"",
      "{} {}",
      "[] x",
      "\"\x01\"",
      "\"\xc0\xaf\"",         /* overlong '/' */
      "\"\xed\xa0\x80\"",     /* UTF-8 surrogate */
      "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
      "\"\xe2\x82\"",         /* truncated */
      "\"\x80\"",             /* lone continuation */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (check(bad[i]) != TC_JSON_INVALID)
      fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
    assert_false(jansson_accepts(bad[i]));
  }
}

static void test_accepts_what_jansson_accepts(void **state) {
  (void)state;
  static const char *good[] = {
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}",
      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
      "[[[[[]]]]]",
      "{\"a\":{\"b\":{\"c\":[null,false,true,0,-1,1e5,1E-5,0.25]}}}",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    assert_true(jansson_accepts(good[i]));
    if (check(good[i]) == TC_JSON_INVALID)
      fail_msg("refused valid JSON #%zu: %s", i, good[i]);
  }
}

/* Numbers beyond 64 bits are valid JSON; jansson refuses them, we do not. */
/* Long strings are checked 8 bytes at a time: a bad or special byte at any
 * offset must still be seen, exactly as jansson sees it. */
static void test_special_byte_at_every_offset(void **state) {
  (void)state;
  static const char specials[] = {'\x01', '\x1f', '"',    '\\', '\x7f',
                                  '\x80', '\xc3', '\xff', ' ',  '~'};
  for (size_t k = 0; k < sizeof(specials); k++) {
    for (size_t at = 0; at < 40; at++) {
      char text[64];
      memset(text, 'a', sizeof(text));
      text[0] = '"';
      text[1 + at] = specials[k];
      text[42] = '"';
      text[43] = '\0';
      int ours = tc_json_check(text, 43) == TC_JSON_STRING;
      if (ours != jansson_accepts(text))
        fail_msg("byte 0x%02x at offset %zu: scanner %d, jansson %d",
                 (unsigned char)specials[k], at, ours, !ours);
    }
  }
}

static void test_big_numbers_are_valid(void **state) {
  (void)state;
  assert_int_equal(check("{\"n\":123456789012345678901234567890}"),
                   TC_JSON_OBJECT);
  assert_int_equal(check("1e400"), TC_JSON_NUMBER);
}

static void test_depth_limit_matches_jansson(void **state) {
  (void)state;
  static char deep[2 * (TC_JSON_MAX_DEPTH + 1) + 1];
  for (size_t n = TC_JSON_MAX_DEPTH; n <= TC_JSON_MAX_DEPTH + 1; n++) {
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    enum tc_json_kind k = tc_json_check(deep, 2 * n);
    assert_int_equal(k != TC_JSON_INVALID, jansson_accepts(deep));
    assert_int_equal(k != TC_JSON_INVALID, n <= TC_JSON_MAX_DEPTH);
  }
}

static void expect_member(const char *obj, const char *key, const char *want) {
  const char *v = NULL;
  size_t vl = 0;
  assert_int_equal(check(obj), TC_JSON_OBJECT);
  int found = tc_json_member(obj, strlen(obj), key, &v, &vl);
  if (want == NULL) {
    assert_int_equal(found, 0);
    return;
  }
  assert_int_equal(found, 1);
  assert_int_equal(vl, strlen(want));
  assert_memory_equal(v, want, vl);
}

static void test_member_lookup(void **state) {
  (void)state;
  const char *msg = " { \"jsonrpc\" : \"2.0\" , \"id\" : \"a,}\" , "
                    "\"params\" : {\"id\":9,\"x\":[1,{\"id\":2}]}, "
                    "\"n\" : -1.5e3 }";
  expect_member(msg, "id", "\"a,}\"");
  expect_member(msg, "params", "{\"id\":9,\"x\":[1,{\"id\":2}]}");
  expect_member(msg, "n", "-1.5e3");
  expect_member(msg, "x", NULL); /* nested members are not top-level */
  expect_member("{}", "id", NULL);
  /* Duplicates: the last one wins, as in a decoder. */
  expect_member("{\"id\":1,\"id\":2}", "id", "2");
  /* Escaped names are compared decoded. */
  expect_member("{\"\\u0069d\":7}", "id", "7");
  expect_member("{\"caf\\u00e9\":1}", "caf\xc3\xa9", "1");
  expect_member("{\"\\ud83d\\ude00\":true}", "\xf0\x9f\x98\x80", "true");
  expect_member("{\"i\\\"d\":1}", "i\"d", "1");
  expect_member("{\"idx\":1}", "id", NULL);
  expect_member("{\"i\":1}", "id", NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds),
      cmocka_unit_test(test_rejects_what_jansson_rejects),
      cmocka_unit_test(test_accepts_what_jansson_accepts),
      cmocka_unit_test(test_special_byte_at_every_offset),
      cmocka_unit_test(test_big_numbers_are_valid),
      cmocka_unit_test(test_depth_limit_matches_jansson),
      cmocka_unit_test(test_member_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
