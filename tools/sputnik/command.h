#pragma once
// Every subcommand is one cmd_<name>.cpp that registers itself with SPUTNIK_COMMAND; main.cpp
// dispatches on argv[1]. Commands parse their own options with CLI11 and throw sputnik::Error
// on bad input (main prints it and exits 1).
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace sputnik::cli {

struct Command {
  std::string name;
  std::string summary;
  // Adds options to `app` and returns the action to run after parsing.
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::vector<Command>& registry();

struct Registrar {
  explicit Registrar(Command c) { registry().push_back(std::move(c)); }
};

// Adds the `-t/--threads` option shared by every compute command; applied before run.
void add_threads_option(CLI::App& app, int& threads);

}  // namespace sputnik::cli

#define SPUTNIK_CONCAT_(a, b) a##b
#define SPUTNIK_CONCAT(a, b) SPUTNIK_CONCAT_(a, b)
#define SPUTNIK_COMMAND(name, summary, setup_fn) \
  static ::sputnik::cli::Registrar SPUTNIK_CONCAT(sputnik_cmd_, __LINE__)({name, summary, setup_fn})
