// shoal: the command-line client. Data commands talk to the nodes of --host (a
// comma-separated list; $SHOAL_HOSTS or $SHOAL_HOST otherwise) through the retrying
// ClusterClient (tools/client.h): an update carries an operation id (--op-id, or a
// fresh random one) and is retried with that same id on the next node when the answer
// is timeout, unavailable or overloaded, or the connection fails. `cluster` runs a
// local cluster of shoald processes; `bench` measures one (tools/bench.h).
//
// This file is the command table: it parses the command line and hands the command to
// its family: tools/data_cli.h (data commands, ping), tools/cluster_cli.h (`cluster`),
// tools/chaos.h (`chaos`), tools/check_cli.h (`check`), tools/bench.h (`bench`),
// tools/user_cli.h (`user`).
//
// Exit codes: 0 ok, 1 the node answered with an error (not_found, timeout, ...),
// 2 bad usage or a request refused before sending (invalid_argument).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "tools/bench.h"
#include "tools/chaos.h"
#include "tools/check_cli.h"
#include "tools/cli.h"
#include "tools/cluster_cli.h"
#include "tools/data_cli.h"
#include "tools/user_cli.h"

namespace {

using namespace shoal;

void add_global_flags(CLI::App& app, cli::Global* g) {
  const char* env_hosts = std::getenv("SHOAL_HOSTS");
  const char* env_host = std::getenv("SHOAL_HOST");
  g->host = env_hosts && *env_hosts ? env_hosts
            : env_host && *env_host ? env_host
                                    : "127.0.0.1:7001";
  app.add_option("-H,--host", g->host,
                 "node(s) to talk to: host:port, or a comma-separated list to fail over "
                 "along ($SHOAL_HOSTS, $SHOAL_HOST)")
      ->capture_default_str();
  app.add_flag("--json", g->json, "machine-readable output");
  const char* env_user = std::getenv("SHOAL_USER");
  g->user = env_user ? env_user : "";
  app.add_option("-u,--user", g->user,
                 "sign in as this user ($SHOAL_USER); the password is read from --password-file "
                 "or $SHOAL_PASSWORD (docs/security.md)");
  app.add_option("--password-file", g->password_file,
                 "the file whose first line is --user's password");
  app.add_option("--tls-ca", g->tls_ca,
                 "connect with TLS, trusting nodes signed by this CA ($SHOAL_TLS_CA)");
  app.add_option("--tls-cert", g->tls_cert, "a client certificate to present ($SHOAL_TLS_CERT)");
  app.add_option("--tls-key", g->tls_key, "its key ($SHOAL_TLS_KEY)");
  // --json and --host work before or after the command (`shoal get k --json`): a
  // subcommand hands options it does not know to this level (inherited by each).
  app.fallthrough();
}

// The TLS flags and the user reach every tool the way the environment does: cluster,
// chaos, check and bench connect through client::connect_env.
Status export_client_settings(const cli::Global& g) {
  for (auto [name, value] : {std::pair{"SHOAL_TLS_CA", &g.tls_ca},
                             {"SHOAL_TLS_CERT", &g.tls_cert},
                             {"SHOAL_TLS_KEY", &g.tls_key}}) {
    if (!value->empty()) setenv(name, value->c_str(), 1);
  }
  if (g.user.empty()) return Status::ok();
  setenv("SHOAL_USER", g.user.c_str(), 1);
  if (g.password_file.empty()) return Status::ok();
  Result<std::string> password = cli::password_of(g);
  if (!password) return password.status();
  setenv("SHOAL_PASSWORD", password->c_str(), 1);
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shoal: client for Shoal, a leaderless Dynamo-style key-value store"};
  app.require_subcommand(1);
  cli::Global g;
  add_global_flags(app, &g);

  cli::DataArgs a;
  api::Op op = api::Op::kPing;
  cli::add_data_commands(app, &a, &op);

  cli::ClusterArgs ca;
  std::string cluster_what;
  cli::add_cluster_commands(app, &ca, &cluster_what);

  cli::UserArgs user_args;
  cli::add_user_commands(app, &user_args);

  chaos::ChaosArgs chaos_args;
  chaos::add_commands(app, &chaos_args);

  check::CheckOptions check_opts;
  cli::ConsistencyFlags check_flags;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "run clients and faults against a local cluster, then check the history");
  check::add_flags(check_cmd, &check_opts);
  check_flags.add_to(check_cmd);
  bool is_check = false;
  check_cmd->callback([&] { is_check = true; });

  bench::BenchOptions bo;
  CLI::App* bcmd = app.add_subcommand("bench", "load a node or cluster and report latency");
  bench::add_flags(bcmd, &bo);
  bool is_bench = false;
  bcmd->callback([&] { is_bench = true; });

  // Bad flags are bad usage: exit 2 (CLI11's own codes are 100+); --help exits 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (Status st = export_client_settings(g); !st.is_ok()) return cli::print_error(g, st);
  if (!cluster_what.empty()) return cli::cluster_command(g, cluster_what, ca);
  if (!chaos_args.what.empty()) return chaos::run(chaos_args, g.json);
  if (!user_args.what.empty()) return cli::user_command(g, user_args);
  if (is_check) {
    Result<core::RequestOptions> o = check_flags.build();
    if (!o) return cli::print_error(g, o.status());
    check_opts.options = *o;
    check_opts.options_label = check_flags.describe();
    return check::run(check_opts);
  }
  if (is_bench) return bench::run(g.host, bo, g.json);
  if (op == api::Op::kPing || op == api::Op::kClusterStatus) return cli::run_ping(g, op);
  return cli::run_data(g, op, a);
}
