// RESP (the Redis protocol) front-end: a thin adapter over the native requests, so any
// Redis client reaches Shoal (docs/resp.md). Pure: the shell feeds bytes in and takes
// replies out; requests go through a submit function to the same core operations and
// error table as every other API.
//
// Keys live in one bucket per connection ("redis" by default; SELECT n uses "redis<n>",
// SHOAL.BUCKET name any other). SET writes an lww register, so GET returns one value;
// INCR/DECR/INCRBY/DECRBY are counters (GET reads them too); SADD/SREM/SMEMBERS/
// SISMEMBER/SCARD are add-wins sets. SHOAL.CONSISTENCY sets this connection's options.
// SHOAL.ONCE <op-id> <command> [args...] runs one update command (SET DEL INCR DECR
// INCRBY DECRBY SADD SREM) with an operation id, so a retry of it takes effect once.
// Replies leave in command order, whatever order the cluster answers in (pipelining).
// AUTH [user] password and HELLO [2 [AUTH user password] [SETNAME name]] sign the
// connection in (one argument: the user "default", as Redis); with authentication on,
// any other command but QUIT first answers -NOAUTH, INFO needs admin, and a data command
// on a bucket its user has no grant for answers -NOPERM (docs/resp.md, "Authentication").
//
// This file owns the commands: arity, dispatch, and each command as native requests.
// resp_codec.h owns the wire: the command parser and the reply encodings.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/api/client_request.h"
#include "node/api/client_response.h"
#include "node/api/ordered_output.h"
#include "node/api/resp_codec.h"
#include "node/api/users.h"

namespace shoal::api::resp {

// The glob steps (glob.h) one SSCAN ... MATCH may take over its page: about 12 ms of one
// core at worst; past it the command is answered an error (docs/resp.md, "Limits").
constexpr uint64_t kMatchBudgetSteps = 10'000'000;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Done = std::function<void(Response)>;
  // The request is the callee's to move from (one request is not copied on its way in).
  using Submit = std::function<void(Request&&, Done)>;
  struct Hooks {
    Submit submit;                      // runs a request; Done may run later, or at once
    std::function<void()> on_output;    // new in-order output can be taken
    std::function<std::string()> info;  // the INFO text of this node
    // AUTH: checks the credentials; done(ok) signs the connection in as `user`. Absent:
    // AUTH answers that the node has no users.
    std::function<void(std::string user, std::string password, std::function<void(Status)> done)>
        authenticate;
    // Whether this connection may run a command that is not a data request (nullopt:
    // anything signed in may; kAdmin: INFO). ok or unauthorized. Absent: always ok.
    std::function<Status(std::optional<Access>)> authorize;
  };
  static std::shared_ptr<Session> make(Hooks hooks);

  void command(std::vector<std::string> args);
  std::string take_output();
  size_t pending() const { return output_.pending(); }  // commands not yet answered
  bool wants_close() const { return close_; }
  const core::RequestOptions& options() const { return options_; }

 private:
  explicit Session(Hooks hooks) : hooks_(std::move(hooks)) {}
  using Reply = std::function<void(std::string)>;
  void finish(uint64_t seq, std::string reply);
  // `op_id`: the operation id of SHOAL.ONCE for the command's update ("": none).
  void dispatch(const std::string& name, std::vector<std::string>& args, Reply reply,
                const std::string& op_id);
  void once(std::vector<std::string>& args, Reply reply);
  void auth(std::string user, std::string password, Reply reply, bool hello);
  void hello(std::vector<std::string>& args, Reply reply);
  void run(Request r, std::function<void(Response)> then);
  Request make(Op op, std::string key) const;
  // A later step of a command (DEL's delete after its read, SREM's remove after its probe)
  // goes to the bucket, with the options, of the command's first step: a SELECT or
  // SHOAL.BUCKET pipelined behind it must not redirect it.
  static Request make_like(const Request& first, Op op, const std::string& key);
  struct DelRun {  // DEL or EXISTS over its keys, one after the other
    std::vector<std::string> keys;
    bool exists_only = false;
    std::string op_id;
    Reply reply;
    Request first;  // the bucket and options every step uses
    int64_t count = 0;
  };
  void get(const std::string& key, Reply reply);
  void set(std::vector<std::string>& args, Reply reply, const std::string& op_id);
  void del(std::shared_ptr<DelRun> job, size_t i);
  void read_then_delete(std::shared_ptr<DelRun> job, size_t i);
  void incr(const std::string& key, int64_t delta, Reply reply, const std::string& op_id);
  void set_add(std::vector<std::string>& args, Reply reply, const std::string& op_id);
  void set_remove(std::vector<std::string>& args, Reply reply, const std::string& op_id);
  void set_read(const std::string& name, std::vector<std::string>& args, Reply reply);
  void set_scan(std::vector<std::string>& args, Reply reply);
  std::string consistency(const std::vector<std::string>& args);

  Hooks hooks_;
  OrderedOutput output_;
  core::RequestOptions options_;
  std::string bucket_ = "redis";
  bool close_ = false;
};

}  // namespace shoal::api::resp
