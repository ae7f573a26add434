// `sputnik serve`: the OpenAI-compatible HTTP server (src/server) on one model.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "model_loading.h"
#include "runtime/bundle.h"
#include "server/engine.h"
#include "server/prompt.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace {

struct Options {
  std::string model, host = "127.0.0.1", api_key, api_key_file, name;
  int port = 8080;
  int parallel = 4;
  int ctx = 4096;
  int threads = 0;
  int max_n = 8;
  int prefill_chunk = 256;
  size_t body_limit = 8 << 20;
  bool verbose = false;
};

// SIGINT/SIGTERM may land on any thread (OpenBLAS starts its own at load time, before a signal
// mask could be set), so the handler only writes to a pipe that a watcher thread reads.
int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const char c = char(sig);
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &c, 1);
}

std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) sputnik::fail("--api-key-file {}: cannot read it", path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) sputnik::fail("--api-key-file {}: the first line is empty", path);
  return key;
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "HF folder or GGUF file")->required();
  app.add_option("--host", o->host, "address to listen on (default: loopback only)");
  app.add_option("--port", o->port, "TCP port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' on /v1 routes");
  app.add_option("--api-key-file", o->api_key_file, "read the API key from the first line of a file");
  app.add_option("--parallel,--np", o->parallel, "sequences decoded together (KV-cache slots)")
      ->check(CLI::Range(1, 256));
  app.add_option("-c,--ctx", o->ctx, "context size per sequence, prompt + answer")
      ->check(CLI::Range(16, 1 << 22));
  app.add_option("--max-n", o->max_n, "largest 'n' a request may ask for")->check(CLI::Range(1, 64));
  app.add_option("--prefill-chunk", o->prefill_chunk, "prompt tokens per batched step")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--body-limit", o->body_limit, "largest request body in bytes")
      ->check(CLI::Range(size_t(1024), size_t(1) << 30));
  app.add_option("--name", o->name, "model name shown by /v1/models (default: the folder name)");
  sputnik::cli::add_threads_option(app, o->threads);
  app.add_flag("-v,--verbose", o->verbose, "show load progress");
  return [o] {
    using namespace sputnik;
    if (!o->api_key.empty() && !o->api_key_file.empty())
      fail("give --api-key or --api-key-file, not both");
    if (!o->api_key_file.empty()) o->api_key = read_key_file(o->api_key_file);
    set_num_threads(o->threads);

    if (pipe(g_signal_pipe) != 0) fail("cannot create a pipe for signal handling");
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // A client that hangs up must not kill the server with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);

    auto loaded = cli::open_model(o->model, o->verbose);
    server::PromptBuilder prompts(loaded);
    server::ModelEngine engine(*loaded.model, o->parallel, o->ctx);
    server::SchedulerOptions so;
    so.prefill_chunk = o->prefill_chunk;
    server::Scheduler scheduler(engine, so);

    server::ServerOptions opt;
    opt.host = o->host;
    opt.port = o->port;
    opt.api_key = o->api_key;
    opt.body_limit = o->body_limit;
    opt.limits.ctx = o->ctx;
    opt.limits.max_n = o->max_n;
    opt.http_threads = std::max(32, 4 * o->parallel);
    std::string name = o->name;
    if (name.empty()) {
      auto p = std::filesystem::path(o->model);
      name = (p.filename().empty() ? p.parent_path().filename() : p.filename()).string();
    }
    opt.model_name = name;
    server::Server http(scheduler, prompts, opt);
    http.bind();
    std::printf("sputnik serve: %s on http://%s:%d (%d slots, ctx %d%s)\n", name.c_str(),
                o->host.c_str(), http.port(), o->parallel, o->ctx,
                o->api_key.empty() ? "" : ", API key required");
    std::fflush(stdout);

    std::atomic<bool> listening_done{false};
    std::thread watcher([&] {
      char c = 0;
      if (read(g_signal_pipe[0], &c, 1) != 1 || c == 0) return;  // 0: woken at normal exit
      std::fprintf(stderr, "sputnik serve: signal %d, shutting down\n", int(c));
      // stop() only takes effect once listen() runs: repeat until it has returned.
      while (!listening_done.load()) {
        http.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    http.listen();
    listening_done = true;
    const char zero = 0;
    [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &zero, 1);
    watcher.join();
    scheduler.stop();
    std::printf("sputnik serve: stopped\n");
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("serve", "OpenAI-compatible HTTP server with a web chat page", setup);
