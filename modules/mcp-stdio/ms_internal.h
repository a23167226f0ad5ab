/* ms_internal.h — pieces of the mcp-stdio module shared between its files.
 * Nothing here is exported from mcp-stdio.so (hidden visibility). */
#ifndef MS_INTERNAL_H
#define MS_INTERNAL_H

#include <stddef.h>

/* Split a command line shell-style, without a shell: whitespace separates
 * words; '...' is literal; inside "..." a backslash escapes the next
 * character; outside quotes a backslash escapes the next character.
 * Metacharacters (; | $ & < > and so on) stay literal.
 * On success *argv_out is a malloc()ed NULL-terminated vector of malloc()ed
 * words (free with ms_argv_free) and 0 is returned. On a syntax error
 * (unterminated quote or trailing backslash) or an empty command, returns
 * -1 with *why pointing at a static description; -2 on ENOMEM. */
int ms_argv_split(const char *cmd, char ***argv_out, const char **why);
void ms_argv_free(char **argv);

#endif /* MS_INTERNAL_H */
