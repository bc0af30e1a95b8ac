#include "tools/cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tools/client.h"

namespace shoal::client {

namespace fs = std::filesystem;

LocalNode* LocalCluster::find(const std::string& id) {
  for (LocalNode& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::string LocalCluster::members() const {
  std::string out;
  for (const LocalNode& n : nodes) {
    if (!n.seed.empty()) continue;
    if (!out.empty()) out += ",";
    out += n.id + "@127.0.0.1:" + std::to_string(n.peer_port);
  }
  return out;
}

std::string shoald_path() {
  if (const char* env = std::getenv("SHOAL_SHOALD"); env && *env) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "shoald").string();
}

namespace {
bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  // Reap it if it is our child and has exited.
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) return false;
  return kill(pid, 0) == 0;
}

// True once the process holds nothing any more (its ports, its data directory's lock):
// reaped, gone, or a zombie whose threads have all exited. A killed process loses its
// command line (the kernel frees its memory first) before it closes its files, so a
// restart that only waits for node_running to turn false can find the port and the
// LevelDB lock still held; under ASan, whose mappings take long to free, that window is
// wide enough to lose a restart.
bool process_exited(pid_t pid) {
  if (!process_alive(pid)) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return true;  // gone between the two looks (or no /proc: trust kill)
  char state = '?';
  int threads = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("State:", 0) == 0 && line.size() > 7) {
      state = line[line.find_first_not_of(" \t", 6)];
    } else if (line.rfind("Threads:", 0) == 0) {
      threads = std::atoi(line.c_str() + 8);
    }
  }
  return (state == 'Z' || state == 'X') && threads <= 1;
}

// Empty for a process that is exiting (or a zombie) and for one we may not read.
std::string command_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits until a node's old process, if one is still on its way out, has let go of its
// ports and files. A pid taken over by another program (a non-empty, other command line)
// is not waited for.
bool wait_exited(pid_t pid, uint32_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (!process_exited(pid) && command_line(pid).empty()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Absolute and normalised, so the same cluster is recognised from any working directory.
std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  return ec ? dir : p.lexically_normal().string();
}
}  // namespace

bool node_running(const LocalNode& node) {
  if (!process_alive(node.pid)) return false;
  if (!fs::exists("/proc/self/cmdline")) return true;  // no /proc: trust the pid
  const std::string cmdline = command_line(node.pid);
  return cmdline.find("--data-dir=" + node.data_dir + '\0') != std::string::npos;
}

Result<LocalCluster> make_cluster(const std::string& dir, int n, int base_port, std::string secret,
                                  uint32_t vnodes) {
  if (n < 1 || n > 64) return Status::invalid_argument("a local cluster has 1..64 nodes");
  if (base_port < 1024 || base_port + 300 + n > 65535) {
    return Status::invalid_argument("base port must leave room for 300+n ports below 65536");
  }
  if (Result<LocalCluster> old = load_cluster(dir)) {
    for (const LocalNode& node : old->nodes) {
      if (node_running(node)) {
        return Status::invalid_argument("a cluster is already running in " + dir + " (node " +
                                        node.id + "); run `shoal cluster down`");
      }
    }
  }
  LocalCluster c;
  c.dir = absolute_dir(dir);
  c.secret = std::move(secret);
  c.vnodes = vnodes;
  for (int i = 0; i < n; ++i) {
    LocalNode node;
    node.id = "n";  // (not "n" + to_string: GCC 12 -Wrestrict false positive, PR 105329)
    node.id += std::to_string(i + 1);
    node.client_port = base_port + i;
    node.data_dir = c.dir + "/" + node.id + "/data";
    node.peer_port = base_port + 100 + i;
    c.nodes.push_back(node);
  }
  std::error_code ec;
  for (const LocalNode& node : c.nodes) fs::create_directories(c.dir + "/" + node.id, ec);
  if (ec) return Status::internal("cannot create " + dir + ": " + ec.message());
  SHOAL_RETURN_IF_ERROR(save_cluster(c));
  return c;
}

Status save_cluster(const LocalCluster& c) {
  const std::string path = c.dir + "/cluster.state";
  // It holds the secret: readable by its owner only.
  (void)::close(::open((path + ".tmp").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
  std::ofstream out(path + ".tmp");
  out << "secret " << c.secret << "\n";
  out << "vnodes " << c.vnodes << "\n";
  for (const std::string& a : c.extra_args) out << "arg " << a << "\n";
  for (const LocalNode& n : c.nodes) {
    out << "node " << n.id << " " << n.client_port << " " << n.peer_port << " " << n.pid;
    if (!n.seed.empty()) out << " " << n.seed;
    out << "\n";
  }
  out.close();
  if (!out) return Status::internal("cannot write " + path);
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
  if (ec) return Status::internal("cannot write " + path + ": " + ec.message());
  return Status::ok();
}

Result<LocalCluster> load_cluster(const std::string& dir) {
  std::ifstream in(dir + "/cluster.state");
  if (!in) {
    return Status::not_found("no cluster in " + dir + " (start one with `shoal cluster up`)");
  }
  LocalCluster c;
  c.dir = absolute_dir(dir);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind;
    ls >> kind;
    if (kind == "secret") {
      ls >> c.secret;
    } else if (kind == "vnodes") {
      ls >> c.vnodes;
    } else if (kind == "arg") {
      std::string a;
      ls >> a;
      c.extra_args.push_back(a);
    } else if (kind == "node") {
      LocalNode n;
      ls >> n.id >> n.client_port >> n.peer_port >> n.pid;
      if (!ls) return Status::corruption("bad line in " + dir + "/cluster.state: " + line);
      ls >> n.seed;  // optional
      n.data_dir = c.dir + "/" + n.id + "/data";
      c.nodes.push_back(n);
    }
  }
  return c;
}

Result<LocalNode> add_node(LocalCluster& c, const std::string& seed_id) {
  const LocalNode* seed = c.find(seed_id);
  if (!seed) return Status::invalid_argument("no node " + seed_id + " in " + c.dir);
  if (c.nodes.empty()) return Status::invalid_argument("the cluster has no nodes");
  const int k = static_cast<int>(c.nodes.size());
  if (k >= 100) return Status::invalid_argument("a local cluster has at most 100 nodes");
  LocalNode node;
  node.id = "n";
  node.id += std::to_string(k + 1);
  node.client_port = c.nodes.front().client_port + k;
  node.peer_port = c.nodes.front().client_port + 100 + k;
  node.data_dir = c.dir + "/" + node.id + "/data";
  node.seed = "127.0.0.1:" + std::to_string(seed->peer_port);
  std::error_code ec;
  fs::create_directories(c.dir + "/" + node.id, ec);
  if (ec) return Status::internal("cannot create " + c.dir + "/" + node.id + ": " + ec.message());
  c.nodes.push_back(node);
  SHOAL_RETURN_IF_ERROR(save_cluster(c));
  return node;
}

namespace {

// Writes `text` to `path`, readable and writable by its owner only.
Status write_private(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  return ok ? Status::ok() : Status::internal("cannot write " + path);
}

std::vector<std::string> shoald_args(const LocalCluster& c, const LocalNode& node,
                                     const std::string& exe) {
  std::vector<std::string> args = {
      exe,
      "--id=" + node.id,
      "--data-dir=" + node.data_dir,
      "--client=127.0.0.1:" + std::to_string(node.client_port),
      "--peer=127.0.0.1:" + std::to_string(node.peer_port),
      "--resp=127.0.0.1:" + std::to_string(node.resp_port()),
      "--http=127.0.0.1:" + std::to_string(node.http_port()),
      node.seed.empty() ? "--members=" + c.members() : "--seeds=" + node.seed,
      "--vnodes=" + std::to_string(c.vnodes)};
  // From a 0600 file (start_node writes it), not the command line other users see in ps.
  if (!c.secret.empty()) args.push_back("--secret-file=" + c.dir + "/" + node.id + ".secret");
  for (std::string a : c.extra_args) {  // "{id}" names the node: per-node TLS files
    for (size_t at = a.find("{id}"); at != std::string::npos; at = a.find("{id}", at)) {
      a.replace(at, 4, node.id);
    }
    args.push_back(std::move(a));
  }
  return args;
}

// Forks and execs args[0] with its output appended to `log`; the child's pid (-1: fork
// failed). die_with_parent: killed when this process dies (tests), else its own session.
pid_t spawn(std::vector<std::string> args, const std::string& log, bool die_with_parent) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
  } else {
    setsid();  // survives the terminal that ran `shoal cluster up`
  }
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  if (null >= 0) dup2(null, STDIN_FILENO);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

// Waits until the node's process answers a ping on its client port.
Status wait_answering(const LocalNode& node, const std::string& log, uint32_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_alive(node.pid)) {  // (node_running: not before the exec)
      return Status::internal("shoald " + node.id + " exited at start; see " + log);
    }
    auto client = connect_env("127.0.0.1", node.client_port, 500);
    if (client) {
      auto pong = (*client)->ping();
      if (pong && pong->status.is_ok()) {
        // Another process on the port would answer too: ours must still be alive.
        if (process_alive(node.pid)) return Status::ok();
        return Status::internal("shoald " + node.id + " exited at start (is port " +
                                std::to_string(node.client_port) + " taken?); see " + log);
      }
    }
    last = client.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::timeout("shoald " + node.id + " did not answer within " + std::to_string(wait_ms) +
                         " ms (" + last.message() + "); see " + log);
}

}  // namespace

Status start_node(LocalCluster& c, const std::string& id, uint32_t wait_ms) {
  LocalNode* node = c.find(id);
  if (!node) return Status::invalid_argument("no node " + id + " in " + c.dir);
  if (node_running(*node)) return Status::ok();
  if (node->pid > 0 && !wait_exited(node->pid, wait_ms)) {
    return Status::timeout("the old process of " + id + " (pid " + std::to_string(node->pid) +
                           ") is still exiting");
  }
  const std::string exe = shoald_path();
  if (access(exe.c_str(), X_OK) != 0) {
    return Status::internal("shoald not found at " + exe + " (set SHOAL_SHOALD)");
  }
  const std::string log = c.log_path(*node);
  SHOAL_RETURN_IF_ERROR(write_private(c.dir + "/" + id + ".secret", c.secret + "\n"));
  const pid_t pid = spawn(shoald_args(c, *node, exe), log, c.die_with_parent);
  if (pid < 0) return Status::internal("fork failed");
  node->pid = pid;
  SHOAL_RETURN_IF_ERROR(save_cluster(c));
  return wait_answering(*node, log, wait_ms);
}

Status stop_node(LocalCluster& c, const std::string& id, int sig, uint32_t wait_ms) {
  LocalNode* node = c.find(id);
  if (!node) return Status::invalid_argument("no node " + id + " in " + c.dir);
  if (!node_running(*node)) {  // (it may still be on its way out: wait for that)
    if (node->pid > 0 && !wait_exited(node->pid, wait_ms)) {
      return Status::timeout("node " + id + " (pid " + std::to_string(node->pid) +
                             ") did not finish exiting");
    }
    node->pid = 0;
    return save_cluster(c);
  }
  kill(node->pid, sig);
  // Past wait_ms the node gets SIGKILL, and 2 s more to let go of its ports and files.
  const auto start = std::chrono::steady_clock::now();
  bool killed = sig == SIGKILL;
  while (!process_exited(node->pid)) {
    const auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    if (!killed && waited_ms >= wait_ms) {
      kill(node->pid, SIGKILL);
      killed = true;
    }
    if (waited_ms >= wait_ms + 2'000) {
      return Status::timeout("node " + id + " (pid " + std::to_string(node->pid) +
                             ") did not stop");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  node->pid = 0;
  return save_cluster(c);
}

Status wait_connected(LocalCluster& c, uint32_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    size_t running = 0;
    for (const LocalNode& n : c.nodes) running += node_running(n);
    std::string missing;
    for (const LocalNode& n : c.nodes) {
      if (!node_running(n)) continue;
      auto client = connect_env("127.0.0.1", n.client_port, 500);
      auto pong = client ? (*client)->ping() : Result<api::Response>(client.status());
      if (!pong || !pong->status.is_ok() || pong->peers.size() + 1 < running) missing = n.id;
    }
    if (missing.empty()) return Status::ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::timeout("node " + missing + " does not reach all its peers; see " +
                             c.log_path(*c.find(missing)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int pick_free_base_port(int span) {
  std::random_device rd;
  std::mt19937 gen(rd() ^ static_cast<unsigned>(getpid()));
  auto free_port = [](int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  };
  for (int attempt = 0; attempt < 200; ++attempt) {
    // Below Linux's ephemeral range (32768-60999): a port free now can otherwise be taken
    // by some outgoing connection before the node binds it.
    int base = 10000 + static_cast<int>(gen() % 22000);
    bool ok = true;
    for (int i = 0; i < span && ok; ++i)
      ok = free_port(base + i) && free_port(base + 100 + i) && free_port(base + 200 + i) &&
           free_port(base + 300 + i);
    if (ok) return base;
  }
  return 0;
}

Result<LocalCluster> external_cluster(const std::string& spec, uint32_t vnodes) {
  LocalCluster c;
  c.vnodes = vnodes;
  c.external = true;
  for (size_t i = 0, j; i <= spec.size(); i = j + 1) {
    j = spec.find(',', i);
    if (j == std::string::npos) j = spec.size();
    const std::string item = spec.substr(i, j - i);
    const size_t eq = item.find('='), colon = item.rfind(':');
    int port = 0;
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos || colon < eq ||
        std::sscanf(item.c_str() + colon + 1, "%d", &port) != 1 || port <= 0 || port > 65535) {
      return Status::invalid_argument("--nodes: expected id=host:port, not \"" + item + "\"");
    }
    LocalNode n;
    n.id = item.substr(0, eq);
    n.host = item.substr(eq + 1, colon - eq - 1);
    n.client_port = port;
    if (c.find(n.id)) return Status::invalid_argument("--nodes: " + n.id + " named twice");
    c.nodes.push_back(std::move(n));
  }
  return c;
}

}  // namespace shoal::client
