/* dev/mcp_stub_rpc.c — the MCP stub's JSON-RPC methods and tools (see
 * mcp_stub_internal.h; the HTTP side is in mcp_stub.c).
 *
 * Methods: initialize, ping, tools/list, tools/call. Tools:
 *   echo {input}        -> text <input>, structuredContent {echoed}
 *   uppercase {input}   -> text <INPUT>, structuredContent {uppercase}
 *   server_info {}      -> structuredContent {name, version, available_tools,
 *                          sample_prompts}, text = the same JSON
 * Every tool also takes two optional transport knobs: "stream" (boolean,
 * ask for a text/event-stream reply) and "progress" (integer 0..100, the
 * number of progress notifications sent before the result on a stream).
 * Unknown extra arguments are ignored; a missing or non-string input, or a
 * bad knob, is -32602 naming the argument. Uppercasing is ASCII-only, so
 * UTF-8 input stays valid. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/mcp_stub_internal.h"

static const char *const supported_versions[] = {"2025-06-18", "2025-03-26",
                                                 "2024-11-05"};

static const char *const tool_names[] = {"echo", "uppercase", "server_info"};

static const char *const sample_prompts[] = {
    "Call the echo tool with input \"hello tunnel\".",
    "Uppercase \"secure mcp tunnel\" with the uppercase tool.",
    "What does server_info report about this MCP server?"};

json_t *tc_mcp_stub_error(json_t *id, int code, const char *message) {
  return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                   id ? id : json_null(), "error", "code", code, "message",
                   message);
}

static json_t *result_msg(json_t *id, json_t *result) {
  /* "o" steals result, also when packing fails. */
  return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result",
                   result);
}

json_t *tc_mcp_stub_progress(json_t *token, int done, int total) {
  char msg[64];
  snprintf(msg, sizeof(msg), "step %d of %d", done, total);
  return json_pack("{s:s, s:s, s:{s:O, s:i, s:i, s:s}}", "jsonrpc", "2.0",
                   "method", "notifications/progress", "params",
                   "progressToken", token, "progress", done, "total", total,
                   "message", msg);
}

/* ---- methods ------------------------------------------------------------ */

static json_t *do_initialize(json_t *params, const char *name,
                             const char *version) {
  const char *want =
      json_string_value(json_object_get(params, "protocolVersion"));
  const char *proto = supported_versions[0];
  for (size_t i = 0; want != NULL && i < sizeof(supported_versions) /
                                             sizeof(supported_versions[0]);
       i++)
    if (strcmp(want, supported_versions[i]) == 0)
      proto = supported_versions[i];
  return json_pack("{s:s, s:{s:{}}, s:{s:s, s:s}, s:s}", "protocolVersion",
                   proto, "capabilities", "tools", "serverInfo", "name", name,
                   "version", version, "instructions",
                   "A local MCP stub for tunnel-client demos and tests: call "
                   "echo, uppercase or server_info.");
}

/* The knobs every tool accepts, added to its input schema. */
static json_t *input_schema(int with_input, const char *input_desc) {
  json_t *props = json_pack(
      "{s:{s:s, s:s}, s:{s:s, s:i, s:i, s:s}}", "stream", "type", "boolean",
      "description",
      "Ask for a text/event-stream reply (needs Accept: text/event-stream).",
      "progress", "type", "integer", "minimum", 0, "maximum",
      TC_MCP_STUB_MAX_PROGRESS, "description",
      "Number of notifications/progress events sent before the result on a "
      "stream.");
  if (props == NULL)
    return NULL;
  if (with_input)
    json_object_set_new(
        props, "input",
        json_pack("{s:s, s:s}", "type", "string", "description", input_desc));
  return json_pack("{s:s, s:o, s:[s*]}", "type", "object", "properties", props,
                   "required", with_input ? "input" : NULL);
}

static json_t *output_schema(const char *field) {
  return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties",
                   field, "type", "string", "required", field);
}

static json_t *do_tools_list(void) {
  json_t *info_out = json_pack(
      "{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}}}", "type",
      "object", "properties", "name", "type", "string", "version", "type",
      "string", "available_tools", "type", "array", "items", "type", "string",
      "sample_prompts", "type", "array", "items", "type", "string");
  return json_pack(
      "{s:[{s:s, s:s, s:s, s:o, s:o}, {s:s, s:s, s:s, s:o, s:o},"
      " {s:s, s:s, s:s, s:o, s:o}]}",
      "tools",
      /* echo */
      "name", "echo", "title", "Echo", "description",
      "Returns its input unchanged.", "inputSchema",
      input_schema(1, "Text to echo back."), "outputSchema",
      output_schema("echoed"),
      /* uppercase */
      "name", "uppercase", "title", "Uppercase", "description",
      "Returns its input in upper case (ASCII letters).", "inputSchema",
      input_schema(1, "Text to convert."), "outputSchema",
      output_schema("uppercase"),
      /* server_info */
      "name", "server_info", "title", "Server info", "description",
      "Describes this MCP server: name, version, tools and sample prompts.",
      "inputSchema", input_schema(0, NULL), "outputSchema", info_out);
}

static json_t *string_array(const char *const *items, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    json_array_append_new(a, json_string(items[i]));
  return a;
}

/* content [{type:text,text}] + structuredContent {key: text}. */
static json_t *text_result(const char *key, const char *text) {
  return json_pack("{s:[{s:s, s:s}], s:{s:s}}", "content", "type", "text",
                   "text", text, "structuredContent", key, text);
}

static json_t *server_info_result(const char *name, const char *version) {
  json_t *info = json_pack(
      "{s:s, s:s, s:o, s:o}", "name", name, "version", version,
      "available_tools",
      string_array(tool_names, sizeof(tool_names) / sizeof(tool_names[0])),
      "sample_prompts",
      string_array(sample_prompts,
                   sizeof(sample_prompts) / sizeof(sample_prompts[0])));
  char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
  json_t *res = text
                    ? json_pack("{s:[{s:s, s:s}], s:O}", "content", "type",
                                "text", "text", text, "structuredContent", info)
                    : NULL;
  free(text);
  json_decref(info);
  return res;
}

/* Fills *bad with a -32602 message when an argument is unusable. */
static json_t *do_tools_call(json_t *params, const char *name,
                             const char *version, struct tc_mcp_stub_call *call,
                             char *bad, size_t badlen) {
  const char *tool = json_string_value(json_object_get(params, "name"));
  if (tool == NULL) {
    snprintf(bad, badlen, "tools/call needs params.name (a string)");
    return NULL;
  }
  json_t *args = json_object_get(params, "arguments");
  if (args != NULL && !json_is_object(args) && !json_is_null(args)) {
    snprintf(bad, badlen, "tools/call params.arguments must be an object");
    return NULL;
  }
  json_t *stream = json_object_get(args, "stream");
  if (stream != NULL && !json_is_boolean(stream)) {
    snprintf(bad, badlen, "argument \"stream\" must be true or false");
    return NULL;
  }
  call->stream = json_is_true(stream);
  json_t *progress = json_object_get(args, "progress");
  if (progress != NULL) {
    json_int_t n = json_integer_value(progress);
    if (!json_is_integer(progress) || n < 0 || n > TC_MCP_STUB_MAX_PROGRESS) {
      snprintf(bad, badlen,
               "argument \"progress\" must be an integer from 0 to %d",
               TC_MCP_STUB_MAX_PROGRESS);
      return NULL;
    }
    call->progress = (int)n;
  }

  if (strcmp(tool, "server_info") == 0)
    return server_info_result(name, version);
  int upper = strcmp(tool, "uppercase") == 0;
  if (!upper && strcmp(tool, "echo") != 0) {
    snprintf(bad, badlen,
             "unknown tool \"%.64s\"; tools/list names echo, uppercase and "
             "server_info",
             tool);
    return NULL;
  }
  json_t *in = json_object_get(args, "input");
  if (!json_is_string(in)) {
    snprintf(bad, badlen, "tool %s needs arguments.input (a string)", tool);
    return NULL;
  }
  if (!upper)
    return text_result("echoed", json_string_value(in));
  size_t len = json_string_length(in);
  char *up = malloc(len + 1);
  if (up == NULL)
    return NULL;
  memcpy(up, json_string_value(in), len + 1);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)up[i] < 0x80)
      up[i] = (char)toupper((unsigned char)up[i]);
  json_t *res =
      json_pack("{s:[{s:s, s:s%}], s:{s:s%}}", "content", "type", "text",
                "text", up, len, "structuredContent", "uppercase", up, len);
  free(up);
  return res;
}

json_t *tc_mcp_stub_dispatch(json_t *req, const char *name, const char *version,
                             struct tc_mcp_stub_call *call) {
  memset(call, 0, sizeof(*call));
  json_t *id = json_object_get(req, "id");
  const char *method = json_string_value(json_object_get(req, "method"));
  json_t *params = json_object_get(req, "params");
  json_t *token =
      json_object_get(json_object_get(params, "_meta"), "progressToken");
  call->progress_token =
      json_is_string(token) || json_is_integer(token) ? token : id;

  if (strcmp(method, "initialize") == 0) {
    json_t *res = do_initialize(params, name, version);
    call->initialized = res != NULL;
    return res ? result_msg(id, res) : NULL;
  }
  if (strcmp(method, "ping") == 0)
    return result_msg(id, json_object());
  if (strcmp(method, "tools/list") == 0)
    return result_msg(id, do_tools_list());
  if (strcmp(method, "tools/call") == 0) {
    char bad[160] = "";
    json_t *res = do_tools_call(params, name, version, call, bad, sizeof(bad));
    if (res != NULL)
      return result_msg(id, res);
    return tc_mcp_stub_error(id,
                             bad[0] ? TC_MCP_STUB_JSONRPC_INVALID_PARAMS
                                    : TC_MCP_STUB_JSONRPC_INTERNAL_ERROR,
                             bad[0] ? bad : "out of memory");
  }
  char msg[160];
  snprintf(msg, sizeof(msg),
           "method \"%.64s\" not found; this stub serves initialize, ping, "
           "tools/list and tools/call",
           method);
  return tc_mcp_stub_error(id, TC_MCP_STUB_JSONRPC_METHOD_NOT_FOUND, msg);
}
