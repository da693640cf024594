// The study's state sets: the 50 training and 500 test initial states, their generator and
// their CSV files (examples/two_mass/data/, written by two_mass --generate-states).
#pragma once

#include "two_mass_model.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef TWO_MASS_DATA_DIR
#define TWO_MASS_DATA_DIR "data"
#endif

namespace two_mass {

/// Initial states, one per column (p1, v1, p2, v2).
using States = Eigen::Matrix<double, nx, Eigen::Dynamic>;

/// The shipped files (TWO_MASS_DATA_DIR is set by the build to examples/two_mass/data).
inline constexpr const char* training_states_file = TWO_MASS_DATA_DIR "/train_states.csv";
inline constexpr const char* test_states_file = TWO_MASS_DATA_DIR "/test_states.csv";

// The shipped state sets: generated once by --generate-states with these seeds (a ctest checks
// that regenerating reproduces the files to the last bit).
inline constexpr std::uint64_t training_seed = 11, test_seed = 1011;
inline constexpr int training_count = 50, test_count = 500;

/// `count` states, uniform in p1 in [-0.5, 1], v1, v2 in [-0.5, 0.5], p2 in [0.1, 1]. The
/// uniforms are formed from mt19937_64's bits directly: its output sequence is fixed by the C++
/// standard, std::uniform_real_distribution's is not.
inline States generate_states(std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  const double lo[nx] = {-0.5, -0.5, 0.1, -0.5}, hi[nx] = {1.0, 0.5, 1.0, 0.5};
  States s(nx, count);
  for (int e = 0; e < count; ++e)
    for (int i = 0; i < nx; ++i)
      s(i, e) = lo[i] + (hi[i] - lo[i]) * (double(rng() >> 11) * 0x1.0p-53);
  return s;
}

inline void write_states(const std::string& path, const States& s) {
  std::ofstream f(path);
  f << "p1,v1,p2,v2\n";
  char buf[32];
  for (Eigen::Index e = 0; e < s.cols(); ++e)
    for (int i = 0; i < nx; ++i) {
      std::snprintf(buf, sizeof buf, "%.17g", s(i, e));  // reads back to the same double
      f << buf << (i + 1 < nx ? "," : "\n");
    }
  f.close();
  if (!f) throw std::runtime_error("writing '" + path + "' failed");
}

inline States read_states(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<double> v;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) v.push_back(std::stod(cell));
  }
  if (v.empty() || v.size() % nx != 0) throw std::runtime_error(path + ": not rows of 4 numbers");
  return Eigen::Map<const States>(v.data(), nx, Eigen::Index(v.size() / nx));
}

}  // namespace two_mass
