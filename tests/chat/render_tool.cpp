// Test helper for jinja2_parity.py: renders a batch of cases with sputnik's ChatTemplate /
// jinja::Template so the script can compare them byte for byte with Python Jinja2.
//   usage: chat_render_tool CASES.json   (prints a JSON array of {"ok", "text"|"error"})
#include <fstream>
#include <iostream>
#include <sstream>

#include "chat/chat_template.h"
#include "chat/jinja.h"
#include "core/error.h"

using json = nlohmann::ordered_json;

static std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw sputnik::Error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

static json render_case(const json& c) {
  json r;
  try {
    if (c.at("kind") == "chat") {
      auto tmpl = sputnik::ChatTemplate::from_string(read_file(c.at("template_file").get<std::string>()),
                                                     c.at("template_file").get<std::string>());
      sputnik::ChatOptions opt;
      const json& o = c.at("options");
      opt.add_generation_prompt = o.value("add_generation_prompt", false);
      if (o.contains("enable_thinking")) opt.enable_thinking = o["enable_thinking"].get<bool>();
      if (o.contains("bos_token")) opt.bos_token = o["bos_token"].get<std::string>();
      if (o.contains("eos_token")) opt.eos_token = o["eos_token"].get<std::string>();
      if (o.contains("tools")) opt.tools = o["tools"];
      r["text"] = tmpl.render(c.at("messages"), opt);
    } else {
      auto tmpl = sputnik::jinja::Template::parse(c.at("template").get<std::string>(), "case");
      r["text"] = tmpl.render(c.at("context"));
    }
    r["ok"] = true;
  } catch (const sputnik::Error& e) {
    r["ok"] = false;
    r["error"] = e.what();
  }
  return r;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: chat_render_tool CASES.json\n";
    return 2;
  }
  try {
    json cases = json::parse(read_file(argv[1]));
    json out = json::array();
    for (const auto& c : cases) out.push_back(render_case(c));
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "chat_render_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
