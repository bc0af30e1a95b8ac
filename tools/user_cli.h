// `shoal user add|rm|list`: edits a users file (node/api/users.h) in place. The password
// of `add` is read from stdin (one line; prompted twice without echo on a terminal), so
// it never appears in the command line or the shell history; the file keeps only its
// scrypt hash and is written 0600, atomically (a temporary file renamed over it).
// `add --token` generates a token instead, prints NAME.TOKEN once and keeps its SHA-256.
//
// Exit codes as tools/cli.h: 0 ok, 1 `rm` of a user not in the file, 2 bad usage, a bad
// grant or name, or a users file that does not parse (the error names the line).
#pragma once

#include <string>
#include <vector>

#include "tools/cli.h"

namespace CLI {
class App;
}

namespace shoal::cli {

struct UserArgs {
  std::string what;  // add, rm, list; empty: not a user command
  std::string file;
  std::string name;
  std::vector<std::string> grants;
  bool token = false;  // add: generate a token instead of reading a password
};

void add_user_commands(CLI::App& app, UserArgs* a);
int user_command(const Global& g, const UserArgs& a);

}  // namespace shoal::cli
