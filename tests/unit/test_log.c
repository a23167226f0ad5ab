/* Unit tests for util/log.c: the three formats, level filtering, the log
 * file (mode 0600, append), secret canaries in every format, the observer,
 * and whole lines under concurrent logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "util/redact.h"

static char g_dir[64];
static char g_path[128];

static int setup(void **state) {
  strcpy(g_dir, "/tmp/tc-test-log.XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_path, sizeof(g_path), "%s/tc.log", g_dir);
  tc_redact_reset();
  return 0;
}

static int teardown(void **state) {
  tc_log_set_observer(NULL, NULL);
  tc_log_close();
  tc_redact_reset();
  unlink(g_path);
  rmdir(g_dir);
  return 0;
}

static void open_log(int format, int level) {
  struct tc_log_options o = {.level = level, .format = format, .file = g_path};
  char *err = NULL;
  assert_int_equal(tc_log_open(&o, &err), 0);
  assert_null(err);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void test_default_format(void **state) {
  open_log(TC_LOG_FORMAT_DEFAULT, TC_LOG_INFO);
  tc_log(TC_LOG_INFO, "health", "hello world", "k", "v w", "n", "7", "empty",
         NULL, NULL);
  tc_log_close();
  char *s = slurp(g_path);
  int y, mo, d, h, mi, se;
  char rest[256];
  assert_int_equal(sscanf(s, "%4d/%2d/%2d %2d:%2d:%2d %255[^\n]", &y, &mo, &d,
                          &h, &mi, &se, rest),
                   7);
  assert_true(y >= 2024 && mo >= 1 && mo <= 12);
  assert_string_equal(
      rest, "INFO hello world component=health k=\"v w\" n=7 empty=\"\"");
  assert_int_equal(count_lines(s), 1);
  free(s);
}

static void test_text_format(void **state) {
  open_log(TC_LOG_FORMAT_TEXT, TC_LOG_DEBUG);
  tc_log(TC_LOG_WARN, NULL, "quote \" and\nnewline", "path", "/a b/c", "plain",
         "x", NULL);
  tc_logf(TC_LOG_DEBUG, "dispatcher", "n=%d", 42);
  tc_log_close();
  char *s = slurp(g_path);
  assert_int_equal(count_lines(s), 2);
  assert_true(strncmp(s, "time=", 5) == 0);
  /* time=YYYY-MM-DDThh:mm:ss.mmmZ */
  assert_int_equal(s[5 + 10], 'T');
  assert_int_equal(s[5 + 23], 'Z');
  assert_non_null(strstr(s, " level=WARN msg=\"quote \\\" and\\nnewline\" "
                            "path=\"/a b/c\" plain=x\n"));
  assert_non_null(
      strstr(s, " level=DEBUG msg=\"n=42\" component=dispatcher\n"));
  free(s);
}

static void test_json_format(void **state) {
  open_log(TC_LOG_FORMAT_JSON, TC_LOG_INFO);
  tc_log(TC_LOG_ERROR, "controlplane", "poll \"failed\"\n\ttab", "status",
         "503", "bad_utf8",
         "a\xff"
         "b",
         "ctl", "\x01", NULL);
  tc_log_close();
  char *s = slurp(g_path);
  assert_int_equal(count_lines(s), 1);
  json_error_t jerr;
  json_t *o = json_loads(s, 0, &jerr);
  assert_non_null(o);
  const char *t = json_string_value(json_object_get(o, "time"));
  assert_non_null(t);
  assert_int_equal(strlen(t), 24);
  assert_int_equal(t[23], 'Z');
  assert_string_equal(json_string_value(json_object_get(o, "level")), "ERROR");
  assert_string_equal(json_string_value(json_object_get(o, "msg")),
                      "poll \"failed\"\n\ttab");
  assert_string_equal(json_string_value(json_object_get(o, "component")),
                      "controlplane");
  assert_string_equal(json_string_value(json_object_get(o, "status")), "503");
  assert_string_equal(json_string_value(json_object_get(o, "bad_utf8")),
                      "a\xef\xbf\xbd"
                      "b");
  assert_string_equal(json_string_value(json_object_get(o, "ctl")), "\x01");
  /* Field order: time, level, msg first. */
  assert_true(strncmp(s, "{\"time\":", 8) == 0);
  assert_non_null(strstr(s, "\"level\":\"ERROR\",\"msg\":"));
  json_decref(o);
  free(s);
}

static void test_levels(void **state) {
  open_log(TC_LOG_FORMAT_TEXT, TC_LOG_WARN);
  assert_int_equal(tc_log_get_level(), TC_LOG_WARN);
  assert_false(tc_log_enabled(TC_LOG_INFO));
  assert_true(tc_log_enabled(TC_LOG_ERROR));
  tc_log(TC_LOG_INFO, NULL, "dropped-info", NULL);
  tc_logf(TC_LOG_DEBUG, NULL, "dropped-debug %d", 1);
  tc_log(TC_LOG_WARN, NULL, "kept-warn", NULL);
  tc_log_set_level(TC_LOG_DEBUG);
  tc_logf(TC_LOG_DEBUG, NULL, "kept-debug %d", 2);
  tc_log_close();
  char *s = slurp(g_path);
  assert_null(strstr(s, "dropped"));
  assert_non_null(strstr(s, "kept-warn"));
  assert_non_null(strstr(s, "kept-debug 2"));
  assert_int_equal(count_lines(s), 2);
  free(s);

  assert_int_equal(tc_log_level_parse("DEBUG"), TC_LOG_DEBUG);
  assert_int_equal(tc_log_level_parse("info"), TC_LOG_INFO);
  assert_int_equal(tc_log_level_parse("Warn"), TC_LOG_WARN);
  assert_int_equal(tc_log_level_parse("error"), TC_LOG_ERROR);
  assert_int_equal(tc_log_level_parse("verbose"), -1);
  assert_int_equal(tc_log_level_parse(NULL), -1);
  assert_string_equal(tc_log_level_name(TC_LOG_DEBUG), "debug");
  assert_string_equal(tc_log_level_name(TC_LOG_WARN), "warn");
  assert_string_equal(tc_log_level_name(TC_LOG_ERROR), "error");
}

static void test_file_mode_and_append(void **state) {
  unlink(g_path);
  open_log(TC_LOG_FORMAT_TEXT, TC_LOG_INFO);
  tc_log(TC_LOG_INFO, NULL, "first", NULL);
  tc_log_close();
  struct stat st;
  assert_int_equal(stat(g_path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  open_log(TC_LOG_FORMAT_TEXT, TC_LOG_INFO);
  tc_log(TC_LOG_INFO, NULL, "second", NULL);
  tc_log_close();
  char *s = slurp(g_path);
  assert_int_equal(count_lines(s), 2);
  assert_true(strstr(s, "first") < strstr(s, "second"));
  free(s);

  /* An unopenable file is one actionable error naming the path. */
  struct tc_log_options o = {.level = TC_LOG_INFO,
                             .format = TC_LOG_FORMAT_TEXT,
                             .file = "/nonexistent-dir/x/tc.log"};
  char *err = NULL;
  assert_int_equal(tc_log_open(&o, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err, "/nonexistent-dir/x/tc.log"));
  assert_null(strchr(err, '\n'));
  free(err);
}

static const char *const canaries[] = {
    "sk-canary-SECRET-123", "plain-Canary-Value-77", "quo\"te-canary\\secret"};

static void log_canaries(void) {
  for (size_t i = 0; i < 3; i++) {
    const char *c = canaries[i];
    tc_log(TC_LOG_INFO, "controlplane", c, "api_key", c, "value", c, NULL);
    tc_logf(TC_LOG_WARN, NULL, "request failed with key %s (see above)", c);
    char msg[128];
    snprintf(msg, sizeof(msg), "wrapped [%s] value", c);
    tc_log(TC_LOG_ERROR, c, msg, "x", msg, NULL);
  }
  tc_log(TC_LOG_INFO, NULL, "unregistered shapes", "header",
         "Authorization: Bearer tok-zz9", "url",
         "https://u:pw-zz9@h/p?access_token=at-zz9", NULL);
}

static void assert_no_canary(const char *s) {
  assert_null(strstr(s, "SECRET-123"));
  assert_null(strstr(s, "Canary-Value-77"));
  assert_null(strstr(s, "te-canary"));
  assert_null(strstr(s, "zz9"));
}

static void test_canary_all_formats(void **state) {
  const int formats[] = {TC_LOG_FORMAT_DEFAULT, TC_LOG_FORMAT_TEXT,
                         TC_LOG_FORMAT_JSON};
  for (size_t i = 0; i < 3; i++)
    tc_redact_add_secret(canaries[i]);
  for (size_t f = 0; f < 3; f++) {
    unlink(g_path);
    open_log(formats[f], TC_LOG_DEBUG);
    log_canaries();
    tc_log_close();
    char *s = slurp(g_path);
    assert_int_equal(count_lines(s), 10);
    assert_no_canary(s);
    assert_non_null(strstr(s, "[REDACTED]"));
    assert_non_null(
        strstr(s, "request failed with key [REDACTED] (see above)"));
    if (formats[f] == TC_LOG_FORMAT_JSON) {
      /* Every line is still valid JSON after redaction. */
      char *line = s;
      for (char *nl = strchr(line, '\n'); nl;
           line = nl + 1, nl = strchr(line, '\n')) {
        *nl = '\0';
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        assert_non_null(o);
        json_decref(o);
      }
    }
    free(s);
  }
}

struct seen {
  pthread_mutex_t mu;
  int count;
  int level;
  char last[512];
};

static void observer(void *ud, int level, const char *line) {
  struct seen *s = ud;
  pthread_mutex_lock(&s->mu);
  s->count++;
  s->level = level;
  snprintf(s->last, sizeof(s->last), "%s", line);
  pthread_mutex_unlock(&s->mu);
}

static void test_observer(void **state) {
  struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
  tc_redact_add_secret("sk-canary-SECRET-123");
  open_log(TC_LOG_FORMAT_JSON, TC_LOG_INFO);
  tc_log_set_observer(observer, &seen);
  tc_log(TC_LOG_WARN, NULL, "obs", "key", "sk-canary-SECRET-123", NULL);
  tc_log(TC_LOG_DEBUG, NULL, "filtered", NULL);
  assert_int_equal(seen.count, 1);
  assert_int_equal(seen.level, TC_LOG_WARN);
  assert_null(strstr(seen.last, "SECRET"));
  assert_null(strchr(seen.last, '\n'));
  json_error_t jerr;
  json_t *o = json_loads(seen.last, 0, &jerr);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "key")),
                      "[REDACTED]");
  json_decref(o);
  tc_log_set_observer(NULL, NULL);
  tc_log(TC_LOG_WARN, NULL, "after", NULL);
  assert_int_equal(seen.count, 1);
}

#define THREADS 4
#define PER_THREAD 400

static void *spam(void *arg) {
  int t = (int)(intptr_t)arg;
  char big[3000];
  memset(big, 'a' + t, sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  char tbuf[8], ibuf[16];
  snprintf(tbuf, sizeof(tbuf), "%d", t);
  for (int i = 0; i < PER_THREAD; i++) {
    snprintf(ibuf, sizeof(ibuf), "%d", i);
    tc_log(TC_LOG_INFO, "test", "concurrent", "t", tbuf, "i", ibuf, "pad", big,
           NULL);
  }
  return NULL;
}

static void test_concurrent_whole_lines(void **state) {
  unlink(g_path);
  open_log(TC_LOG_FORMAT_JSON, TC_LOG_INFO);
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, spam, (void *)(intptr_t)t),
                     0);
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);
  tc_log_close();
  char *s = slurp(g_path);
  assert_int_equal(count_lines(s), THREADS * PER_THREAD);
  int next[THREADS] = {0};
  char *line = s;
  for (char *nl = strchr(line, '\n'); nl;
       line = nl + 1, nl = strchr(line, '\n')) {
    *nl = '\0';
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    assert_non_null(o);
    int t = atoi(json_string_value(json_object_get(o, "t")));
    int i = atoi(json_string_value(json_object_get(o, "i")));
    assert_true(t >= 0 && t < THREADS);
    assert_int_equal(i, next[t]); /* each thread's lines in order, none lost */
    next[t]++;
    const char *pad = json_string_value(json_object_get(o, "pad"));
    assert_int_equal(strlen(pad), 2999);
    assert_int_equal((int)strspn(pad, (char[]){(char)('a' + t), 0}), 2999);
    json_decref(o);
  }
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_default_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_mode_and_append, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_canary_all_formats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_observer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_whole_lines, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
