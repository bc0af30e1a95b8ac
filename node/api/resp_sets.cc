// resp::Session's set commands (resp.h): SADD, SREM, SMEMBERS, SISMEMBER, SCARD, SSCAN.
#include <algorithm>
#include <set>

#include "node/api/glob.h"
#include "node/api/resp.h"

namespace shoal::api::resp {

// SADD in one round trip: the write's acknowledgements say which members each replica
// held before (ClientResponse::added), so with R + W > N the count is what a read first
// would have found (docs/resp.md).
void Session::set_add(std::vector<std::string>& args, Reply reply, const std::string& op_id) {
  Request w = make(Op::kSetAdd, std::move(args[1]));
  const std::set<std::string> members(args.begin() + 2, args.end());  // SADD k a a adds a once
  w.elements.assign(members.begin(), members.end());
  w.op_id = op_id;
  w.status_only = true;
  run(std::move(w), [reply = std::move(reply)](Response a) {
    if (!a.status.is_ok()) return reply(error_for(a.status));
    reply(integer(a.added.value_or(0)));
  });
}

// SREM in one round trip: a remove without a context removes every add a read at the
// connection's consistency would have seen, and answers how many of the members named
// that read would have found (core::ClientResponse::removed; docs/semantics.md,
// "Removes without a context").
void Session::set_remove(std::vector<std::string>& args, Reply reply, const std::string& op_id) {
  Request w = make(Op::kSetRemove, std::move(args[1]));
  const std::set<std::string> members(args.begin() + 2, args.end());
  w.elements.assign(members.begin(), members.end());
  w.op_id = op_id;
  w.status_only = true;
  run(std::move(w), [reply = std::move(reply)](Response a) {
    if (!a.status.is_ok()) return reply(error_for(a.status));
    reply(integer(a.removed.value_or(0)));
  });
}

void Session::set_read(const std::string& name, std::vector<std::string>& args, Reply reply) {
  std::string member = args.size() > 2 ? args[2] : std::string();
  Request q = make(Op::kSetGet, args[1]);
  if (name == "SISMEMBER") q.elements = {member};
  run(std::move(q), [name, member, reply](Response r) {
    if (!r.status.is_ok() && r.status.code() != Code::kNotFound) return reply(error_for(r.status));
    if (name == "SMEMBERS") return reply(array(r.elements));
    if (name == "SCARD") return reply(integer(static_cast<int64_t>(r.elements.size())));
    const bool in = std::find(r.elements.begin(), r.elements.end(), member) != r.elements.end();
    reply(integer(in ? 1 : 0));
  });
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: one page of COUNT members (default
// 10, at most core::kMaxPageMembers) in byte order, read at the connection's consistency
// from each replica's rows after the cursor (docs/resp.md, "Big sets"); MATCH filters
// the page (Redis globs, glob.h, as Redis filters after reading), so a page may come back
// short or empty before the cursor reaches "0".
void Session::set_scan(std::vector<std::string>& args, Reply reply) {
  Request q = make(Op::kSetGet, args[1]);
  if (!decode_cursor(args[2], &q.after)) return reply(error("ERR invalid cursor"));
  q.count = 10;
  std::string match;
  for (size_t i = 3; i < args.size(); i += 2) {
    const std::string option = upper(args[i]);
    int64_t n = 0;
    if (i + 1 >= args.size() || (option != "COUNT" && option != "MATCH")) {
      return reply(error("ERR syntax error"));
    }
    if (option == "MATCH") {
      match = args[i + 1];
    } else if (!parse_int(args[i + 1], &n) || n < 1 || n > core::kMaxPageMembers) {
      return reply(error("ERR COUNT is 1.." + std::to_string(core::kMaxPageMembers)));
    } else {
      q.count = static_cast<uint32_t>(n);
    }
  }
  run(std::move(q), [match, reply](Response r) {
    if (!r.status.is_ok() && r.status.code() != Code::kNotFound) return reply(error_for(r.status));
    std::vector<std::string> page;
    uint64_t budget_steps = kMatchBudgetSteps;
    for (std::string& m : r.elements) {
      const std::optional<bool> in = match.empty() ? true : glob::match(match, m, &budget_steps);
      if (!in) {
        return reply(error("ERR MATCH pattern takes more than " +
                           std::to_string(kMatchBudgetSteps) +
                           " steps on this page: use a smaller COUNT or a simpler pattern"));
      }
      if (*in) page.push_back(std::move(m));
    }
    reply("*2\r\n" + bulk(r.next ? encode_cursor(*r.next) : "0") + array(page));
  });
}

}  // namespace shoal::api::resp
