// Server::Impl: setup, loop turns, admin requests, drain and the public Server (server_impl.h).
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "node/api/fault_rule.h"
#include "node/core/identity.h"
#include "node/uv/peer_auth.h"
#include "node/uv/server_impl.h"

namespace shoal::uvshell {

// ---- setup ----

core::NodeConfig Server::Impl::node_config() const {
  core::NodeConfig nc;
  nc.self = config.node_id;
  nc.vnodes_per_node = config.vnodes;
  nc.object_cache_bytes = config.object_cache_bytes;
  nc.key_filter_bytes = config.key_filter_bytes;
  nc.max_set_read_members = config.max_set_read_members;
  nc.max_pending_requests = config.max_pending_requests;
  nc.cluster = config.cluster;
  nc.peer_address = (config.advertise_peer ? *config.advertise_peer : config.peer).to_string();
  nc.client_address = config.client.to_string();
  for (const Member& m : config.members) nc.members.push_back(m.id);
  for (const Address& a : config.seeds) {
    std::string seed = "@";
    seed += a.to_string();  // (not "@" + ...: GCC 12 -Wrestrict false positive)
    nc.seeds.push_back(std::move(seed));
  }
  return nc;
}

Status Server::Impl::init() {
  // The users file first: a bad one stops the node before anything else is opened.
  Result<std::unique_ptr<Authenticator>> authenticator =
      Authenticator::open(&loop, config.users_file);
  if (!authenticator) return authenticator.status();
  auth = std::move(authenticator).value();
  if (config.tls) {
    Result<std::shared_ptr<api::TlsContext>> t = api::TlsContext::load(*config.tls);
    if (!t) return t.status();
    tls = std::move(t).value();
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return Status::internal("cannot create data dir " + config.data_dir + ": " + ec.message());
  auto opened = store::LevelDbStore::open(config.data_dir, nullptr, config.storage);
  if (!opened) {
    return opened.status();  // says whether the directory is damaged or locked
  }
  store = std::move(opened).value();
  doctor = std::make_unique<store::StoreDoctor>(*store, config.min_free_bytes);
  core::SeededRng seeded(rng.next());
  Result<crdt::Actor> actor = core::new_incarnation(*store, seeded);
  if (!actor) return actor.status();

  uv_loop_init(&loop);
  loop.data = this;
  uv_check_init(&loop, &check);
  check.data = this;
  uv_check_start(&check, [](uv_check_t* h) { static_cast<Impl*>(h->data)->end_turn(); });
  uv_idle_init(&loop, &wake);
  uv_timer_init(&loop, &core_timer);
  core_timer.data = this;
  uv_timer_init(&loop, &drain_timer);
  drain_timer.data = this;

  const core::NodeConfig nc = node_config();
  core_rng = std::make_unique<core::SeededRng>(rng.next());
  node = std::make_unique<core::Node>(nc, core::NodeEnv{*this, *this, timers, *store, *core_rng},
                                      *actor);
  spdlog::info("node {} actor {:016x}, {} static members, {} seeds, data in {}", config.node_id,
               *actor, nc.members.size(), nc.seeds.size(), config.data_dir);

  SHOAL_RETURN_IF_ERROR(listen(&client_listener, config.client, [](uv_stream_t* s, int status) {
    if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kClient);
  }));
  SHOAL_RETURN_IF_ERROR(listen(&peer_listener, config.peer, [](uv_stream_t* s, int status) {
    if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kPeerIn);
  }));
  if (config.resp) {
    SHOAL_RETURN_IF_ERROR(listen(&resp_listener, *config.resp, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kResp);
    }));
  }
  if (config.http) {
    SHOAL_RETURN_IF_ERROR(listen(&http_listener, *config.http, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kHttp);
    }));
  }
  for (const Member& m : config.members) {
    if (m.id == config.node_id) continue;
    if (!resolve(m.peer)) return resolve(m.peer).status();
    peer_for(m.id);
  }
  start_conn_limits();
  return Status::ok();
}

Status Server::Impl::listen(uv_tcp_t* listener, const Address& at, uv_connection_cb cb) {
  Result<sockaddr_storage> sa = resolve(at);
  if (!sa) return sa.status();
  uv_tcp_init(&loop, listener);
  listener->data = this;
  int rc = uv_tcp_bind(listener, reinterpret_cast<const sockaddr*>(&*sa), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener), 511, cb);
  if (rc != 0) {
    return Status::unavailable("cannot listen on " + at.to_string() + ": " + uv_strerror(rc));
  }
  return Status::ok();
}

// ---- what the node reports, admin requests, loop turns ----

NodeSnapshot Server::Impl::snapshot(bool with_store_bytes) const {
  // LevelDB's size estimate walks every table's index: only /metrics shows it.
  const store::StoreDoctor::Counters& d = doctor->counters();
  const Status now = doctor->health();
  const StoreHealth health{now.is_ok() ? "" : now.to_string(), d.faults, d.repairs, d.reopens,
                           d.failed};
  return take_snapshot(
      *node, config.node_id,
      {config.client.to_string(), client_conns, metrics.requests(), metrics.seconds(),
       with_store_bytes ? store->approximate_size() : 0, health});
}

bool Server::Impl::handle_admin(const api::Request& req, api::Response* r) {
  r->node = config.node_id;
  if (req.op == api::Op::kLeave) {
    r->status = node->leave();
    if (r->status.is_ok()) spdlog::info("leaving the cluster: handing off all data first");
    return true;
  }
  if (req.op == api::Op::kRemove) {
    r->status = node->remove(req.node);
    if (r->status.is_ok()) spdlog::info("removed {} from the cluster", req.node);
    return true;
  }
  if (req.op == api::Op::kChaos) {
    Result<core::FaultRule> rule = api::parse_fault_rule(req.rule);  // (checked at decode)
    Result<std::string> rules = rule ? node->chaos(*rule) : Result<std::string>(rule.status());
    r->status = rules.status();
    if (rules) {
      r->chaos = *rules;
      spdlog::warn("chaos: '{}'; rules now: {}", req.rule, rules->empty() ? "none" : *rules);
    }
    return true;
  }
  fill_cluster_status(snapshot(), r);
  return true;
}

// libuv computes the poll timeout after running idle handles, so an idle handle that
// stopped itself would not keep the next poll from blocking: it stays active until the
// check phase of the turn it woke (end_turn()).
void Server::Impl::wake_next_turn() {
  uv_idle_start(&wake, [](uv_idle_t*) {});
}

// One loop turn ends: commit the turn's writes, then send what the turn produced.
void Server::Impl::end_turn() {
  uv_idle_stop(&wake);
  node->end_turn();
  check_store();
  // Connections paused at their in-flight limit read their buffered frames now; their
  // requests form one more core turn.
  while (!resume.empty()) {
    auto ids = std::move(resume);
    resume.clear();
    for (uint64_t id : ids) {
      auto it = conns.find(id);
      if (it != conns.end() && !it->second->reading) process_frames(it->second);
    }
    node->end_turn();
  }
  auto batch = std::move(dirty);
  dirty.clear();
  for (Conn* c : batch) flush(c);
  // Answers delivered above may have started requests (node.h): end that turn next
  // iteration, without blocking in poll first.
  if (node->has_turn_work()) wake_next_turn();
  if (!draining && node->wants_stop()) {
    begin_drain(node->membership().self().status == core::MemberStatus::kLeft
                    ? "left the cluster"
                    : "removed from the cluster");
  }
}

// Logged once per fault: when it is found, when its first treatment fails (retries are
// counted by the metrics, not logged), and when it is treated.
void Server::Impl::check_store() {
  const store::StoreDoctor::Space space = doctor->check_space(uv_now(&loop));
  if (space == store::StoreDoctor::Space::kLow) {
    spdlog::error("{}; writes are refused until space returns, reads go on",
                  doctor->health().message());
  } else if (space == store::StoreDoctor::Space::kRecovered) {
    spdlog::warn("disk space is back ({} MiB free): writes are accepted again",
                 doctor->free_bytes() >> 20);
  }
  if (doctor->healthy()) return;
  if (!store_fault_logged) {
    const bool corrupt = doctor->fault().code() == Code::kCorruption;
    spdlog::error("store fault: {}; {}; writes fail until then, reads go to other replicas",
                  doctor->fault().to_string(),
                  corrupt
                      ? "repairing the database (damaged tables go to " + store->dir() + "/lost)"
                      : std::string("reopening the database"));
    store_fault_logged = true;
  }
  const uint64_t start_ms = uv_now(&loop);
  const store::StoreDoctor::Outcome out = doctor->tick(start_ms);
  if (out.action == store::StoreDoctor::Action::kNone) return;
  uv_update_time(&loop);
  const uint64_t took_ms = uv_now(&loop) - start_ms;
  if (out.action == store::StoreDoctor::Action::kFailed) {
    if (!store_failure_logged) {
      spdlog::error("store treatment failed after {} ms: {}; retrying with back-off up to {} s",
                    took_ms, out.result.to_string(), store::StoreDoctor::kMaxRetryMs / 1000);
      store_failure_logged = true;
    }
    return;
  }
  if (out.action == store::StoreDoctor::Action::kRepaired) {
    spdlog::warn("store repaired in {} ms after: {}; {}; anti-entropy restores what was lost",
                 took_ms, out.fault.to_string(), store::describe(store->last_repair()));
  } else {
    spdlog::warn("store reopened in {} ms after: {}", took_ms, out.fault.to_string());
  }
  store_fault_logged = store_failure_logged = false;
  node->on_store_reset();
  node->end_turn();
}

// ---- core timers: one uv timer armed for the earliest deadline ----

// The uv timer for the core's earliest deadline (TimerQueue decides when to re-arm).
void Server::Impl::arm_core_timer(uint64_t deadline_ms) {
  const uint64_t now = uv_now(&loop);
  uv_timer_start(
      &core_timer,
      [](uv_timer_t* t) {
        auto* self = static_cast<Impl*>(t->data);
        self->timers.fire_due(uv_now(&self->loop),
                              [self](uint64_t id) { self->node->on_timer(id); });
        self->log_peer_states();  // a conviction happens in a timer: seen at once
      },
      deadline_ms > now ? deadline_ms - now : 0, 0);
}

// ---- shutdown ----

void Server::Impl::begin_drain(const char* signal_name) {
  if (draining) return;
  draining = true;
  spdlog::info("{}: draining {} in-flight requests, then closing", signal_name,
               node->pending_requests());
  uv_close(reinterpret_cast<uv_handle_t*>(&client_listener), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&peer_listener), nullptr);
  if (config.resp) uv_close(reinterpret_cast<uv_handle_t*>(&resp_listener), nullptr);
  if (config.http) uv_close(reinterpret_cast<uv_handle_t*>(&http_listener), nullptr);
  drain_deadline_ms = uv_now(&loop) + config.drain_timeout_ms;
  uv_timer_start(
      &drain_timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->check_drain(); }, 0, 20);
}

void Server::Impl::check_drain() {
  bool writes_pending = false;
  for (const auto& [id, c] : conns) {
    if (c->is_client() && (c->write_busy || !c->out.empty() || !c->tls_out.empty())) {
      writes_pending = true;
    }
  }
  if ((node->pending_requests() > 0 || writes_pending) && uv_now(&loop) < drain_deadline_ms) {
    return;
  }
  if (node->pending_requests() > 0) {
    spdlog::warn("drain timed out with {} requests in flight", node->pending_requests());
  }
  shutdown();
}

void Server::Impl::shutdown() {
  end_turn();
  Status s = store->flush(true);
  if (!s.is_ok()) spdlog::error("final flush failed: {}", s.to_string());
  std::vector<Conn*> all;
  for (auto& [id, c] : conns) all.push_back(c);
  for (Conn* c : all) close_conn(c, "shutdown");
  for (auto& [id, p] : peers) uv_close(reinterpret_cast<uv_handle_t*>(&p->retry), nullptr);
  stop_conn_limits();
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&check), reinterpret_cast<uv_handle_t*>(&wake),
        reinterpret_cast<uv_handle_t*>(&core_timer), reinterpret_cast<uv_handle_t*>(&drain_timer),
        reinterpret_cast<uv_handle_t*>(&sigint), reinterpret_cast<uv_handle_t*>(&sigterm),
        reinterpret_cast<uv_handle_t*>(&sighup)}) {
    uv_close(h, nullptr);
  }
}

// ---- Server ----

Result<std::unique_ptr<Server>> Server::open(ServerConfig config) {
  bool self_listed = false;
  for (const Member& m : config.members) self_listed = self_listed || m.id == config.node_id;
  if (!self_listed) config.members.push_back({config.node_id, config.peer});
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->peer_key = peer_key(impl->config.secret);
  Status s = impl->init();
  if (!s.is_ok()) {
    if (impl->loop.data) {
      uv_walk(
          &impl->loop,
          [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
          },
          nullptr);
      uv_run(&impl->loop, UV_RUN_DEFAULT);
      uv_loop_close(&impl->loop);
    }
    return s;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (!impl_) return;
  impl_->node.reset();
  impl_->store.reset();  // closes the DB
}

int Server::run() {
  Impl& s = *impl_;
  signal(SIGPIPE, SIG_IGN);
  uv_signal_init(&s.loop, &s.sigint);
  uv_signal_init(&s.loop, &s.sigterm);
  uv_signal_init(&s.loop, &s.sighup);
  s.sigint.data = s.sigterm.data = s.sighup.data = &s;
  uv_signal_start(
      &s.sighup,
      [](uv_signal_t* h, int) {
        static_cast<Impl*>(h->data)->reload_users();
        static_cast<Impl*>(h->data)->reload_tls();
      },
      SIGHUP);
  uv_signal_start(
      &s.sigint, [](uv_signal_t* h, int) { static_cast<Impl*>(h->data)->begin_drain("SIGINT"); },
      SIGINT);
  uv_signal_start(
      &s.sigterm, [](uv_signal_t* h, int) { static_cast<Impl*>(h->data)->begin_drain("SIGTERM"); },
      SIGTERM);
  spdlog::info("node {} serving clients on {}, peers on {}{}; {}", s.config.node_id,
               s.config.client.to_string(), s.config.peer.to_string(),
               s.tls ? " over TLS (mutual between peers)" : "",
               s.auth->enabled() ? fmt::format("clients authenticate ({} users in {})",
                                               s.auth->user_count(), s.auth->path())
                                 : std::string("clients do not authenticate (no --users-file)"));
  uv_run(&s.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&s.loop);
  if (rc != 0) spdlog::warn("loop closed with handles open: {}", uv_strerror(rc));
  s.node.reset();
  s.store.reset();
  spdlog::info("node {} stopped; database closed", s.config.node_id);
  return 0;
}

}  // namespace shoal::uvshell
