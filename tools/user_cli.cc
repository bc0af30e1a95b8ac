#include "tools/user_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "node/api/json.h"
#include "node/api/users.h"

namespace shoal::cli {
namespace {

Result<api::Users> load(const std::string& path, bool may_be_missing) {
  std::ifstream in(path);
  if (!in) {
    if (may_be_missing && access(path.c_str(), F_OK) != 0) return api::Users();
    return Status::invalid_argument("cannot read users file " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<api::Users> users = api::Users::parse(text.str());
  if (!users) return Status::invalid_argument(path + ": " + users.status().message());
  return users;
}

// 0600, written whole to a fresh temporary file (mkstemp: never one someone else made),
// synced, renamed over the old one, and the directory synced.
Status save(const std::string& path, const api::Users& users) {
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::internal("cannot write a temporary file beside " + path);
  }
  const std::string text =
      "# shoal users: NAME:HASH:ROLES (docs/security.md)\n" + users.serialize();
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::internal("cannot write " + path);
  }
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

std::string read_line(bool echo_off) {
  termios old{};
  const bool tty = echo_off && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> read_password() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (tty) std::fprintf(stderr, "password: ");
  std::string pw = read_line(true);
  if (tty) {
    std::fprintf(stderr, "again: ");
    if (read_line(true) != pw) return Status::invalid_argument("the passwords differ");
  }
  if (pw.empty()) return Status::invalid_argument("empty password (give it on stdin)");
  if (pw.size() > api::kMaxPasswordBytes) return Status::invalid_argument("password too long");
  return pw;
}

int add(const Global& g, const UserArgs& a) {
  Result<api::Users> users = load(a.file, /*may_be_missing=*/true);
  if (!users) return print_error(g, users.status());
  api::User u{a.name, "", {}};
  for (const std::string& text : a.grants) {
    Result<api::Grant> grant = api::parse_grant(text);
    if (!grant) return print_error(g, grant.status());
    u.grants.push_back(*grant);
  }
  std::string bearer;  // --token: shown once, never stored
  if (a.token) {
    api::Token t = api::make_token();
    u.hash = std::move(t.hash);
    bearer = a.name + "." + t.secret;
  } else {
    Result<std::string> pw = read_password();
    if (!pw) return print_error(g, pw.status());
    u.hash = api::hash_password(*pw);
  }
  if (Status s = users->add(std::move(u)); !s.is_ok()) return print_error(g, s);
  if (Status s = save(a.file, *users); !s.is_ok()) return print_error(g, s);
  if (g.json) {
    std::printf("%s\n", (bearer.empty() ? nlohmann::json{{"ok", true}}
                                        : nlohmann::json{{"ok", true}, {"token", bearer}})
                            .dump()
                            .c_str());
  } else if (!bearer.empty()) {
    std::printf("user %s saved; its token (shown once; HTTP: Authorization: Bearer ...):\n%s\n",
                a.name.c_str(), bearer.c_str());
  } else {
    std::printf("user %s saved\n", a.name.c_str());
  }
  return 0;
}

int list(const Global& g, const UserArgs& a) {
  Result<api::Users> users = load(a.file, /*may_be_missing=*/false);
  if (!users) return print_error(g, users.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, u] : users->all()) {
    std::string grants;
    for (const api::Grant& gr : u.grants)
      grants += (grants.empty() ? "" : ",") + api::grant_text(gr);
    if (g.json) {
      out.push_back({{"name", name}, {"grants", grants}});
    } else {
      std::printf("%s\t%s\n", name.c_str(), grants.empty() ? "(none)" : grants.c_str());
    }
  }
  if (g.json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

void add_user_commands(CLI::App& app, UserArgs* a) {
  CLI::App* user = app.add_subcommand("user", "manage a users file (docs/security.md)");
  user->require_subcommand(1);
  auto file = [a](CLI::App* cmd) {
    cmd->add_option("--file", a->file, "the users file")->required();
  };
  CLI::App* add_cmd = user->add_subcommand("add", "add or replace a user; password on stdin");
  add_cmd->add_option("name", a->name, "user name (A-Z a-z 0-9 _ . @ -)")->required();
  add_cmd->add_option("--grant", a->grants,
                      "admin, read:GLOB or write:GLOB (bucket glob), repeatable");
  add_cmd->add_flag("--token", a->token,
                    "instead of a password, generate a token and print it once (the password "
                    "of NAME, and HTTP's Bearer NAME.TOKEN)");
  file(add_cmd);
  CLI::App* rm_cmd = user->add_subcommand("rm", "remove a user");
  rm_cmd->add_option("name", a->name, "user name")->required();
  file(rm_cmd);
  CLI::App* list_cmd = user->add_subcommand("list", "list users and their grants");
  file(list_cmd);
  for (CLI::App* cmd : {add_cmd, rm_cmd, list_cmd}) {
    cmd->callback([a, cmd] { a->what = cmd->get_name(); });
  }
}

int user_command(const Global& g, const UserArgs& a) {
  if (a.what == "add") return add(g, a);
  if (a.what == "list") return list(g, a);
  Result<api::Users> users = load(a.file, /*may_be_missing=*/false);
  if (!users) return print_error(g, users.status());
  if (!users->remove(a.name)) return print_error(g, Status::not_found("no user " + a.name));
  if (Status s = save(a.file, *users); !s.is_ok()) return print_error(g, s);
  std::printf("%s\n", g.json ? "{\"ok\":true}" : ("user " + a.name + " removed").c_str());
  return 0;
}

}  // namespace shoal::cli
