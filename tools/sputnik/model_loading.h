#pragma once
// Opening a checkpoint from the CLI, with a progress bar on stderr for big models.
#include <memory>
#include <string>
#include <vector>

#include "formats/loader.h"
#include "runtime/bundle.h"

namespace sputnik::cli {

// Load options whose progress callback draws a bar when the checkpoint is large (> 256 MiB)
// or `verbose`.
LoadOptions load_options_with_progress(const std::string& path, bool verbose);

// Weights, model, tokenizer and chat template (see runtime/bundle.h).
ModelBundle open_model(const std::string& path, bool verbose = false);

// "1,2,3" -> ids; throws Error on anything that is not a comma-separated list of integers.
std::vector<int32_t> parse_token_list(const std::string& text);

}  // namespace sputnik::cli
