// sputnik: one binary for running, serving and training DeepSeek/Qwen reasoning models.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "command.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace sputnik::cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

void add_threads_option(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "worker threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
}

namespace {

void print_help() {
  auto& cmds = registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::printf("sputnik — run, serve and train DeepSeek-V3/R1 and Qwen2/QwQ models on your own hardware\n\n");
  std::printf("usage: sputnik <command> [options]   (sputnik <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : cmds) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
}

}  // namespace
}  // namespace sputnik::cli

int main(int argc, char** argv) {
  using namespace sputnik::cli;
  if (argc < 2 || std::string(argv[1]) == "help" || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "-h") {
    print_help();
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  for (const auto& cmd : registry()) {
    if (cmd.name != name) continue;
    CLI::App app(cmd.summary, "sputnik " + name);
    app.set_version_flag("--version", "sputnik 0.1.0");
    try {
      auto action = cmd.setup(app);
      app.parse(argc - 1, argv + 1);
      return action();
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    } catch (const sputnik::Error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "sputnik %s: error: %s\n", name.c_str(), e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "sputnik %s: error: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "sputnik: unknown command '%s' (see `sputnik help`)\n", name.c_str());
  return 2;
}
