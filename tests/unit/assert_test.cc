// SHOAL_ASSERT is on in every build (NDEBUG included) and stops the process through the
// installed handler. Each case runs the failing assert in a forked child.
#include "crdt/assert.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "crdt/dot.h"

namespace {

struct Child {
  bool aborted = false;
  std::string output;
};

// Runs fn in a child process with stderr captured; reports whether it died of SIGABRT.
Child run_in_child(const std::function<void()>& fn) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    fn();
    _exit(0);
  }
  close(fds[1]);
  Child c;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) c.output.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  c.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return c;
}

int g_handled = 0;

}  // namespace

TEST_CASE("SHOAL_ASSERT holds quietly and stops the process when broken, in every build",
          "[assert]") {
  const Child ok = run_in_child([] { SHOAL_ASSERT(1 + 1 == 2, "arithmetic"); });
  CHECK_FALSE(ok.aborted);
  CHECK(ok.output.empty());

  const Child broken = run_in_child([] {
    const int replies = 3;
    SHOAL_ASSERT(replies <= 2, "one reply per target");
  });
  CHECK(broken.aborted);
  CHECK(broken.output.find("invariant failed: replies <= 2 at tests/unit/assert_test.cc:") !=
        std::string::npos);
  CHECK(broken.output.find(": one reply per target") != std::string::npos);
}

TEST_CASE("a failed invariant goes to the installed handler, then the process stops", "[assert]") {
  const Child c = run_in_child([] {
    shoal::set_invariant_handler([](const char* message) {
      ++g_handled;
      std::fprintf(stderr, "handled %d: %s\n", g_handled, message);
    });
    SHOAL_ASSERT(g_handled > 0);
  });
  CHECK(c.aborted);
  CHECK(c.output.find("handled 1: invariant failed: g_handled > 0 at ") != std::string::npos);
}

TEST_CASE("a CRDT's invariant stops the process: a dot counter of zero is not an event",
          "[assert]") {
  const Child c = run_in_child([] {
    shoal::crdt::DotContext ctx;
    ctx.add(shoal::crdt::Dot{7, 0});
  });
  CHECK(c.aborted);
  CHECK(c.output.find("invariant failed: dot.counter >= 1 at crdt/dot.cc:") != std::string::npos);
}
