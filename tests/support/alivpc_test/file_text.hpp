// A file's whole text ("" when it cannot be read: the caller's expectations then say what is
// missing).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace alivpc_test {

inline std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace alivpc_test
