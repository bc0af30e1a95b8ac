#include "tools/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "node/api/json.h"

namespace shoal::cli {

Result<std::string> password_of(const Global& g) {
  std::string password;
  if (!g.password_file.empty()) {
    std::ifstream in(g.password_file);
    if (!in) return Status::invalid_argument("cannot read --password-file " + g.password_file);
    std::getline(in, password);
    return password;
  }
  if (const char* env = std::getenv("SHOAL_PASSWORD")) return std::string(env);
  return Status::invalid_argument("--user " + g.user +
                                  " needs a password: --password-file or $SHOAL_PASSWORD");
}

void ConsistencyFlags::add_to(CLI::App* cmd) {
  cmd->add_option("-c,--consistency", consistency, "ONE, QUORUM (default), ALL or LOCAL");
  cmd->add_option("--n", n, "replicas (default 3)");
  cmd->add_option("--r", r, "read quorum: a count or one/quorum/all");
  cmd->add_option("--w", w, "write quorum: a count or one/quorum/all");
  cmd->add_option("--pr", pr, "primary replicas that must answer a read");
  cmd->add_option("--pw", pw, "primary replicas that must acknowledge a write");
  cmd->add_flag("--durable", durable, "fsync on the replicas before acknowledging");
  cmd->add_flag("--no-sloppy", no_sloppy, "never use fallback nodes");
  cmd->add_option("--timeout-ms", timeout_ms, "request timeout (default 5000)");
}

Result<core::RequestOptions> ConsistencyFlags::build() const {
  core::RequestOptions o;
  if (!consistency.empty()) {
    Result<core::RequestOptions> p = core::preset(consistency);
    if (!p) return p.status();
    o = *p;
  }
  auto quorum = [](const std::string& text, core::QuorumSpec* out) -> Status {
    if (text.empty()) return Status::ok();
    Result<core::QuorumSpec> q = core::parse_quorum(text);
    if (!q) return q.status();
    *out = *q;
    return Status::ok();
  };
  SHOAL_RETURN_IF_ERROR(quorum(r, &o.r));
  SHOAL_RETURN_IF_ERROR(quorum(w, &o.w));
  SHOAL_RETURN_IF_ERROR(quorum(pr, &o.pr));
  SHOAL_RETURN_IF_ERROR(quorum(pw, &o.pw));
  if (n) o.n = n;
  if (timeout_ms) o.timeout_ms = timeout_ms;
  if (durable) o.durable = true;
  if (no_sloppy) o.sloppy = false;
  Result<core::ResolvedOptions> checked = core::resolve(o);
  if (!checked) return checked.status();
  return o;
}

std::string ConsistencyFlags::describe() const {
  std::string out = consistency.empty() ? "quorum" : consistency;
  if (!r.empty()) out += " r=" + r;
  if (!w.empty()) out += " w=" + w;
  if (!pr.empty()) out += " pr=" + pr;
  if (!pw.empty()) out += " pw=" + pw;
  if (n) out += " n=" + std::to_string(n);
  if (durable) out += " durable";
  if (no_sloppy) out += " no-sloppy";
  return out;
}

int print_error(const Global& g, const Status& s) {
  if (g.json) {
    std::cout << json::dump({{"status", std::string(code_name(s.code()))},
                             {"message", json::bytes(s.message())}})
              << "\n";
  } else {
    std::cerr << s.to_string() << "\n";
  }
  return s.code() == Code::kInvalidArgument || s.code() == Code::kTooLarge ? 2 : 1;
}

}  // namespace shoal::cli
