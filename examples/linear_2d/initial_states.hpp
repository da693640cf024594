// The study's initial-state files (method.md section 1): two comma-separated columns x1, x2
// after one header line, read into a 2 x N matrix.
#pragma once

#include <Eigen/Core>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef LINEAR_2D_DATA_DIR
#define LINEAR_2D_DATA_DIR "data"
#endif

namespace linear_2d {

using States = Eigen::Matrix<double, 2, Eigen::Dynamic>;

/// The 50 training states, the same 50 in every RL iteration.
constexpr const char* training_states_file = LINEAR_2D_DATA_DIR "/ecc24_train_initial_states.csv";

/// Throws std::runtime_error when the file cannot be opened.
inline States read_states(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Eigen::Vector2d> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto comma = line.find(',');
    rows.emplace_back(std::stod(line.substr(0, comma)), std::stod(line.substr(comma + 1)));
  }
  States s(2, Eigen::Index(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) s.col(Eigen::Index(i)) = rows[i];
  return s;
}

}  // namespace linear_2d
