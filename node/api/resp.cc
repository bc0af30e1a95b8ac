#include "node/api/resp.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <set>

#include "node/api/glob.h"
#include "node/core/update.h"

namespace shoal::api::resp {

namespace {

std::string wrong_args(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return error("ERR wrong number of arguments for '" + lower + "' command");
}

struct Arity {
  const char* name;
  int min, max;  // argument counts including the command; max -1: unbounded
};
constexpr Arity kArity[] = {
    {"PING", 1, 2},        {"ECHO", 2, 2},    {"QUIT", 1, 1},         {"INFO", 1, 2},
    {"SELECT", 2, 2},      {"GET", 2, 2},     {"SET", 3, -1},         {"DEL", 2, -1},
    {"EXISTS", 2, -1},     {"INCR", 2, 2},    {"DECR", 2, 2},         {"INCRBY", 3, 3},
    {"DECRBY", 3, 3},      {"SADD", 3, -1},   {"SREM", 3, -1},        {"SMEMBERS", 2, 2},
    {"SISMEMBER", 3, 3},   {"SCARD", 2, 2},   {"SSCAN", 3, 7},        {"COMMAND", 1, -1},
    {"CONFIG", 2, -1},     {"CLIENT", 2, -1}, {"SHOAL.BUCKET", 2, 2}, {"SHOAL.CONSISTENCY", 1, -1},
    {"SHOAL.ONCE", 3, -1}, {"AUTH", 2, 3},    {"HELLO", 1, 7},
};

const Arity* find_arity(const std::string& upper_name) {
  for (const Arity& a : kArity) {
    if (upper_name == a.name) return &a;
  }
  return nullptr;
}

bool arity_ok(const Arity& a, size_t args) {
  const int n = static_cast<int>(args);
  return n >= a.min && (a.max < 0 || n <= a.max);
}

std::string unknown_command(const std::vector<std::string>& args, size_t first) {
  std::string msg = "ERR unknown command '" + args[first] + "', with args beginning with:";
  for (size_t i = first + 1; i < args.size() && i < first + 4; ++i) {
    msg += " '" + args[i].substr(0, 64) + "'";
  }
  return error(msg);
}

// HELLO's answer: RESP2's flat array of the server's properties.
std::string hello_reply() {
  return "*14\r\n" + bulk("server") + bulk("shoal") + bulk("version") + bulk("1.0.0") +
         bulk("proto") + integer(2) + bulk("id") + integer(0) + bulk("mode") + bulk("standalone") +
         bulk("role") + bulk("master") + bulk("modules") + "*0\r\n";
}

// The commands SHOAL.ONCE can run: each is one update of one key.
constexpr const char* kOnceCommands[] = {"SET",    "DEL",    "INCR", "DECR",
                                         "INCRBY", "DECRBY", "SADD", "SREM"};

}  // namespace

std::shared_ptr<Session> Session::make(Hooks hooks) {
  return std::shared_ptr<Session>(new Session(std::move(hooks)));
}

std::string Session::take_output() { return output_.take(); }

void Session::finish(uint64_t seq, std::string reply) {
  if (output_.complete(seq, std::move(reply)) && hooks_.on_output) hooks_.on_output();
}

void Session::command(std::vector<std::string> args) {
  const uint64_t seq = output_.reserve();
  std::weak_ptr<Session> weak = weak_from_this();
  Reply reply = [weak, seq](std::string r) {
    if (auto s = weak.lock()) s->finish(seq, std::move(r));
  };
  const std::string name = upper(args[0]);
  const Arity* arity = find_arity(name);
  if (!arity) return reply(unknown_command(args, 0));
  if (!arity_ok(*arity, args.size())) return reply(wrong_args(name));
  if (name == "AUTH") {
    const bool with_user = args.size() == 3;
    return auth(with_user ? std::move(args[1]) : "default", std::move(args.back()),
                std::move(reply), false);
  }
  if (name == "HELLO") return hello(args, std::move(reply));
  if (name != "QUIT" && hooks_.authorize) {
    const Status s =
        hooks_.authorize(name == "INFO" ? std::optional(Access::kAdmin) : std::nullopt);
    if (!s.is_ok()) return reply(error_for(s));
  }
  if (name == "SHOAL.ONCE") return once(args, std::move(reply));
  dispatch(name, args, std::move(reply), "");
}

void Session::auth(std::string user, std::string password, Reply reply, bool hello) {
  if (!hooks_.authenticate) {
    return reply(error("ERR AUTH: this node has no users (shoald --users-file)"));
  }
  std::weak_ptr<Session> weak = weak_from_this();
  hooks_.authenticate(
      std::move(user), std::move(password), [weak, reply = std::move(reply), hello](Status s) {
        auto self = weak.lock();
        if (!self) return;
        if (s.code() == Code::kUnauthorized) {
          return reply(error("WRONGPASS invalid username-password pair or user is disabled."));
        }
        if (!s.is_ok()) return reply(error_for(s));
        reply(hello ? hello_reply() : simple("OK"));
      });
}

// HELLO [protover [AUTH user password] [SETNAME name]]: RESP2 only (3 answers NOPROTO).
void Session::hello(std::vector<std::string>& args, Reply reply) {
  if (args.size() >= 2 && args[1] != "2") {
    int64_t v = 0;
    return reply(error(parse_int(args[1], &v) && v == 3
                           ? "NOPROTO sorry, this protocol version is not supported."
                           : "ERR Protocol version is not an integer or out of range"));
  }
  std::optional<std::pair<std::string, std::string>> cred;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string opt = upper(args[i]);
    if (opt == "AUTH" && i + 2 < args.size()) {
      cred.emplace(std::move(args[i + 1]), std::move(args[i + 2]));
      i += 2;
    } else if (opt == "SETNAME" && i + 1 < args.size()) {
      ++i;  // accepted, not kept
    } else {
      return reply(error("ERR Syntax error in HELLO option '" + args[i].substr(0, 64) + "'"));
    }
  }
  if (cred) return auth(std::move(cred->first), std::move(cred->second), std::move(reply), true);
  if (hooks_.authorize && api::is_unauthenticated(hooks_.authorize(std::nullopt))) {
    return reply(
        error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
              "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
              "select the RESP protocol version at the same time"));
  }
  reply(hello_reply());
}

// SHOAL.ONCE <op-id> <command> [args...]: the command's update carries the operation id.
// The inner command is checked as if it came alone (unknown command, arity), and must
// be an update of one key.
void Session::once(std::vector<std::string>& args, Reply reply) {
  const std::string op_id = args[1];
  if (op_id.empty() || op_id.size() > core::kMaxOpIdBytes) {
    return reply(error_for(Status::invalid_argument(
        "SHOAL.ONCE op_id of " + std::to_string(op_id.size()) + " bytes; an operation id is 1.." +
        std::to_string(core::kMaxOpIdBytes) + " bytes")));
  }
  std::vector<std::string> inner(std::make_move_iterator(args.begin() + 2),
                                 std::make_move_iterator(args.end()));
  const std::string name = upper(inner[0]);
  const Arity* arity = find_arity(name);
  if (!arity) return reply(unknown_command(inner, 0));
  if (std::find(std::begin(kOnceCommands), std::end(kOnceCommands), name) ==
      std::end(kOnceCommands)) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return reply(
        error("ERR SHOAL.ONCE runs an update (SET, DEL, INCR, DECR, INCRBY, DECRBY, "
              "SADD, SREM), not '" +
              lower + "'"));
  }
  if (!arity_ok(*arity, inner.size())) return reply(wrong_args(name));
  if (name == "DEL" && inner.size() != 2) {
    return reply(error("ERR SHOAL.ONCE DEL takes one key: an operation id names one update"));
  }
  dispatch(name, inner, std::move(reply), op_id);
}

void Session::dispatch(const std::string& name, std::vector<std::string>& args, Reply reply,
                       const std::string& op_id) {
  if (name == "PING") return reply(args.size() == 2 ? bulk(args[1]) : simple("PONG"));
  if (name == "ECHO") return reply(bulk(args[1]));
  if (name == "QUIT") {
    close_ = true;
    return reply(simple("OK"));
  }
  if (name == "INFO") {
    return reply(bulk((hooks_.info ? hooks_.info() : std::string()) +
                      "# Connection\r\nbucket:" + bucket_ + "\r\n"));
  }
  if (name == "COMMAND" || (name == "CONFIG" && upper(args[1]) == "GET")) return reply("*0\r\n");
  if (name == "CONFIG") return reply(error("ERR CONFIG " + args[1] + " is not supported"));
  if (name == "CLIENT") return reply(simple("OK"));
  if (name == "SELECT") {
    int64_t db = 0;
    if (!parse_int(args[1], &db) || db < 0 || db > 1'000'000)
      return reply(error("ERR DB index is out of range"));
    bucket_ = db == 0 ? "redis" : "redis" + std::to_string(db);
    return reply(simple("OK"));
  }
  if (name == "SHOAL.BUCKET") {
    if (args[1].empty() || args[1].size() > kMaxBucketBytes)
      return reply(error("ERR a bucket is 1..1024 bytes"));
    bucket_ = args[1];
    return reply(simple("OK"));
  }
  if (name == "SHOAL.CONSISTENCY") return reply(consistency(args));
  if (name == "GET") return get(args[1], std::move(reply));
  if (name == "SET") return set(args, std::move(reply), op_id);
  if (name == "DEL" || name == "EXISTS") {
    return del(std::make_shared<DelRun>(DelRun{{args.begin() + 1, args.end()},
                                               name == "EXISTS",
                                               op_id,
                                               std::move(reply),
                                               make(Op::kGet, ""),
                                               0}),
               0);
  }
  if (name == "INCR" || name == "DECR") {
    return incr(args[1], name == "INCR" ? 1 : -1, std::move(reply), op_id);
  }
  if (name == "INCRBY" || name == "DECRBY") {
    int64_t by = 0;
    if (!parse_int(args[2], &by) || (name == "DECRBY" && by == INT64_MIN))
      return reply(error("ERR value is not an integer or out of range"));
    return incr(args[1], name == "INCRBY" ? by : -by, std::move(reply), op_id);
  }
  if (name == "SADD") return set_add(args, std::move(reply), op_id);
  if (name == "SREM") return set_remove(args, std::move(reply), op_id);
  if (name == "SSCAN") return set_scan(args, std::move(reply));
  set_read(name, args, std::move(reply));  // SMEMBERS, SISMEMBER, SCARD
}

Request Session::make(Op op, std::string key) const {
  Request r;
  r.op = op;
  r.bucket = bucket_;
  r.key = std::move(key);
  r.options = options_;
  return r;
}

Request Session::make_like(const Request& first, Op op, const std::string& key) {
  Request r;
  r.op = op;
  r.bucket = first.bucket;
  r.key = key;
  r.options = first.options;
  return r;
}

void Session::run(Request r, std::function<void(Response)> then) {
  if (Status s = check_request(r); !s.is_ok()) {
    Response bad;
    bad.status = s;
    then(std::move(bad));
    return;
  }
  hooks_.submit(std::move(r), std::move(then));
}

void Session::get(const std::string& key, Reply reply) {
  run(make(Op::kGet, key), [reply = std::move(reply)](Response r) {
    if (r.status.code() == Code::kNotFound) return reply(null_bulk());
    if (!r.status.is_ok()) return reply(error_for(r.status));
    switch (r.type.value_or(core::DataType::kLww)) {
      case core::DataType::kCounter:
        return reply(bulk(std::to_string(r.counter)));
      case core::DataType::kSet:
        return reply(error_for(Status::type_mismatch("the key holds a set")));
      default:
        if (r.values.empty()) return reply(null_bulk());
        if (r.values.size() == 1) return reply(bulk(r.values[0]));
        return reply(error("ERR the key holds " + std::to_string(r.values.size()) +
                           " sibling values (concurrent register writes through another API); "
                           "read it with the native protocol or HTTP"));
    }
  });
}

void Session::set(std::vector<std::string>& args, Reply reply, const std::string& op_id) {
  if (args.size() > 3) {
    return reply(
        error("ERR SET options (EX, PX, NX, XX, KEEPTTL, GET) are not supported: "
              "Shoal has no expiry and no conditional writes"));
  }
  Request r = make(Op::kPut, std::move(args[1]));
  r.type = core::DataType::kLww;
  r.value = std::move(args[2]);
  r.op_id = op_id;
  r.status_only = true;
  run(std::move(r), [reply = std::move(reply)](Response a) {
    reply(a.status.is_ok() ? simple("OK") : error_for(a.status));
  });
}

// DEL and EXISTS, one key after the other. DEL sends a counting delete of an lww key:
// one round trip, answering whether a read before it would have found the key
// (docs/semantics.md, "Deletes that count"). A key its minter holds as another type (a
// register written through another API, a counter, a set), and SHOAL.ONCE DEL, are read,
// then deleted as before.
void Session::del(std::shared_ptr<DelRun> job, size_t i) {
  if (i == job->keys.size()) return job->reply(integer(job->count));
  // SHOAL.ONCE DEL too: a counting delete takes no operation id (update.h).
  if (job->exists_only || !job->op_id.empty()) return read_then_delete(job, i);
  auto self = shared_from_this();
  Request d = make_like(job->first, Op::kDelete, job->keys[i]);
  d.type = core::DataType::kLww;
  d.counting = true;
  d.status_only = true;
  run(std::move(d), [self, job, i](Response a) {
    if (a.status.code() == Code::kTypeMismatch) return self->read_then_delete(job, i);
    if (!a.status.is_ok()) return job->reply(error_for(a.status));
    job->count += a.removed.value_or(0);
    self->del(job, i + 1);
  });
}

// EXISTS, and DEL of a key that is not an lww value: read it, then (DEL) delete it with
// the context read, so the delete supersedes exactly what was there.
void Session::read_then_delete(std::shared_ptr<DelRun> job, size_t i) {
  auto self = shared_from_this();
  Request read = make_like(job->first, Op::kGet, job->keys[i]);
  read.for_update = !job->exists_only;
  run(std::move(read), [self, job, i](Response r) {
    if (r.status.code() == Code::kNotFound) return self->del(job, i + 1);
    if (!r.status.is_ok()) return job->reply(error_for(r.status));
    if (job->exists_only) {
      ++job->count;
      return self->del(job, i + 1);
    }
    const core::DataType type = r.type.value_or(core::DataType::kLww);
    if (type != core::DataType::kLww && type != core::DataType::kRegister) {
      return job->reply(
          error("ERR DEL of a counter or a set is not supported (a CRDT value "
                "cannot be deleted yet)"));
    }
    Request d = make_like(job->first, Op::kDelete, job->keys[i]);
    d.type = type;
    d.context = r.context;
    d.op_id = job->op_id;
    self->run(std::move(d), [self, job, i](Response a) {
      if (!a.status.is_ok()) return job->reply(error_for(a.status));
      ++job->count;
      self->del(job, i + 1);
    });
  });
}

void Session::incr(const std::string& key, int64_t delta, Reply reply, const std::string& op_id) {
  Request r = make(Op::kCounterAdd, key);
  r.delta = delta;
  r.op_id = op_id;
  run(std::move(r), [reply = std::move(reply)](Response a) {
    reply(a.status.is_ok() ? integer(a.counter) : error_for(a.status));
  });
}

// SHOAL.CONSISTENCY                      -> this connection's options
// SHOAL.CONSISTENCY ONE|QUORUM|ALL|LOCAL  -> a preset
// SHOAL.CONSISTENCY r 2 w 3 [n 3] [pr 1] [pw 1] [durable yes] [sloppy no] [timeout_ms 500]
namespace {
// A quorum as SHOAL.CONSISTENCY takes it back: a count, or one / quorum / all.
std::string spec_text(const core::QuorumSpec& q) {
  switch (q.kind) {
    case core::QuorumSpec::Kind::kCount:
      return std::to_string(q.count);
    case core::QuorumSpec::Kind::kOne:
      return "one";
    case core::QuorumSpec::Kind::kAll:
      return "all";
    case core::QuorumSpec::Kind::kQuorum:
      break;
  }
  return "quorum";
}
}  // namespace

std::string Session::consistency(const std::vector<std::string>& args) {
  if (args.size() == 1) {
    const core::RequestOptions& o = options_;
    return bulk(std::string(o.local ? "LOCAL " : "") + "n=" + std::to_string(o.n) +
                " r=" + spec_text(o.r) + " w=" + spec_text(o.w) + " pr=" + spec_text(o.pr) +
                " pw=" + spec_text(o.pw) + " durable=" + (o.durable ? "yes" : "no") + " sloppy=" +
                (o.sloppy ? "yes" : "no") + " timeout_ms=" + std::to_string(o.timeout_ms));
  }
  core::RequestOptions o = options_;
  if (args.size() == 2) {
    Result<core::RequestOptions> p = core::preset(args[1]);
    if (!p) return error_for(p.status());
    o = *p;
  } else if (args.size() % 2 == 0) {
    return error("ERR expected a preset (ONE, QUORUM, ALL, LOCAL) or name value pairs");
  }
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    const std::string k = upper(args[i]);
    const std::string v = upper(args[i + 1]);
    int64_t num = 0;
    const bool yes = v == "YES" || v == "TRUE" || v == "1";
    const bool no = v == "NO" || v == "FALSE" || v == "0";
    if (k == "R" || k == "W" || k == "PR" || k == "PW") {
      Result<core::QuorumSpec> q = core::parse_quorum(v);
      if (!q) return error_for(q.status());
      (k == "R" ? o.r : k == "W" ? o.w : k == "PR" ? o.pr : o.pw) = *q;
    } else if ((k == "N" || k == "TIMEOUT_MS") && parse_int(v, &num) && num > 0 &&
               num <= 1'000'000) {
      (k == "N" ? o.n : o.timeout_ms) = static_cast<uint32_t>(num);
    } else if ((k == "DURABLE" || k == "SLOPPY") && (yes || no)) {
      (k == "DURABLE" ? o.durable : o.sloppy) = yes;
    } else {
      return error("ERR bad consistency option '" + args[i] + "' = '" + args[i + 1] + "'");
    }
    o.local = false;
  }
  Result<core::ResolvedOptions> ok = core::resolve(o);
  if (!ok) return error_for(ok.status());
  options_ = o;
  return simple("OK");
}

}  // namespace shoal::api::resp
