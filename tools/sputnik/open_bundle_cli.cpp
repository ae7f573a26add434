#include "model_loading.h"
#include "runtime/bundle.h"

namespace sputnik::cli {

ModelBundle open_model(const std::string& path, bool verbose) {
  return open_bundle(path, load_options_with_progress(path, verbose));
}

}  // namespace sputnik::cli
