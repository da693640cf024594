// Logging of the RL loop (rl/log.hpp) on hand-made records, so that every expected value is
// known: csv_number's digits and its spelling of non-finite values (what gnuplot, awk and
// pandas read), the progress line character for character, the CSV history (one column per
// header name, one row per iteration, a theta column per parameter) and the JSON summary,
// which must parse as JSON (NaN and inf as null) and hold what the result holds.
#include "rmpc/rl/log.hpp"

#include "rmpc_catch.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Result = rmpc::rl::LoopResult<double, 2>;
constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

/// Two iterations: theta0 accepted, then a rejected trial with an infinite radius.
Result two_iterations() {
  Result res;
  res.status = rmpc::rl::LoopStatus::optimizer_stopped;
  res.optimizer_status = rmpc::optim::Status::converged_radius;
  res.theta = Eigen::Vector2d(1.0, 2.0);
  res.best_theta = Eigen::Vector2d(0.5, -0.25);
  res.initial_cost = 3.5;
  res.best_cost = infinity;
  res.best_iteration = 0;
  rmpc::rl::IterationRecord<double, 2> r;
  r.theta_trial = r.theta = res.theta;
  r.exploration_probability = 1;
  r.batch_cost = 2.5;
  r.time.critic = 0.25;
  res.history.push_back(r);
  r.iteration = 1;
  r.accepted = false;
  r.ratio = -0.125;
  r.radius = infinity;
  r.theta = Eigen::Vector2d(1.0, 1.0 / 3.0);
  r.skipped_samples = 3;
  res.history.push_back(r);
  res.time.critic = 0.5;
  return res;
}

}  // namespace

TEST_CASE("log: csv_number writes the digits asked for and spells non-finite values", "[log]") {
  using rmpc::rl::csv_number;
  CHECK(csv_number(1.0 / 3.0) == "0.3333333333");  // 10 digits by default
  CHECK(csv_number(1.0 / 3.0, 17) == "0.33333333333333331");
  CHECK(std::stod(csv_number(1.0 / 3.0, 17)) == 1.0 / 3.0);  // 17 reads back every bit
  CHECK(std::stod(csv_number(1.0 / 3.0)) != 1.0 / 3.0);
  CHECK(csv_number(2.5) == "2.5");
  CHECK(csv_number(-1e-20) == "-1e-20");
  CHECK(csv_number(not_a_number) == "nan");
  CHECK(csv_number(infinity) == "inf");
  CHECK(csv_number(-infinity) == "-inf");
  CHECK(csv_number(0.1f) == "0.1000000015");  // a float is written as the double it is
  CHECK(csv_number(std::numeric_limits<float>::infinity()) == "inf");
}

TEST_CASE("log: the progress line, character for character", "[log]") {
  rmpc::rl::IterationRecord<double, 2> r;
  r.iteration = 12;
  r.exploration_probability = 0.23;
  r.batch_cost = 12.345678;
  r.eval_cost = 12.01;
  r.radius = 0.01;
  r.ratio = 0.9;
  r.gradient_norm = 0.12;
  r.skipped_samples = 3;
  r.time.rollouts = 0.5;
  r.time.critic = 0.33;
  CHECK(rmpc::rl::progress_line(r) ==
        " it  12  eps 0.23  Jbar   12.34568  eval   12.01000  radius 1.00e-02  accepted  rho      "
        "0.9  |g| 1.20e-01  fail 0  skip 3  0.83 s");
  r.accepted = false;
  r.failed_episodes = 2;
  const std::string line = rmpc::rl::progress_line(r, "TR-QN");
  CHECK(line.rfind("TR-QN it  12 ", 0) == 0);
  CHECK(line.find("  REJECTED  ") != std::string::npos);
  CHECK(line.find("  fail 2  ") != std::string::npos);
}

TEST_CASE("log: the CSV history has a named column per field and one row per iteration", "[log]") {
  std::ostringstream out;
  rmpc::rl::write_history_csv(out, two_iterations());
  const auto lines = split(out.str(), '\n');
  REQUIRE(lines.size() == 4);  // header, two rows, the empty rest after the last newline
  CHECK(lines[3].empty());
  const auto header = split(lines[0], ',');
  CHECK(header.size() == 23 + 2);  // 23 fields, then theta1, theta2
  CHECK(header.front() == "iteration");
  CHECK(header[header.size() - 2] == "theta1");
  CHECK(header.back() == "theta2");
  std::vector<std::map<std::string, std::string>> rows;
  for (int i : {1, 2}) {
    const auto cells = split(lines[std::size_t(i)], ',');
    REQUIRE(cells.size() == header.size());
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < cells.size(); ++c) row[header[c]] = cells[c];
    rows.push_back(row);
  }
  REQUIRE(rows[0].size() == header.size());  // no header name twice
  CHECK(rows[0]["iteration"] == "0");
  CHECK(rows[0]["exploration"] == "1");
  CHECK(rows[0]["batch_cost"] == "2.5");
  CHECK(rows[0]["accepted"] == "1");
  CHECK(rows[0]["ratio"] == "nan");  // not measured at iteration 0
  CHECK(rows[0]["t_critic"] == "0.25");
  CHECK(rows[0]["theta2"] == "2");
  CHECK(rows[1]["iteration"] == "1");
  CHECK(rows[1]["accepted"] == "0");
  CHECK(rows[1]["ratio"] == "-0.125");
  CHECK(rows[1]["radius"] == "inf");
  CHECK(rows[1]["skipped_samples"] == "3");
  CHECK(rows[1]["theta2"] == "0.3333333333");
}

TEST_CASE("log: the JSON summary parses and holds the result (non-finite as null)", "[log]") {
  std::ostringstream out;
  rmpc::rl::write_summary_json(out, two_iterations(), "\"method\": \"tr-qn\"");
  const std::string text = out.str();
  CHECK(text.find("\"method\"") < text.find("\"status\""));  // extra goes first
  const auto j = nlohmann::json::parse(text);  // throws (fails the test) unless it is JSON
  CHECK(j.at("method") == "tr-qn");
  CHECK(j.at("status") == "optimizer_stopped");
  CHECK(j.at("optimizer_status") == rmpc::optim::to_string(rmpc::optim::Status::converged_radius));
  CHECK(j.at("initial_cost") == 3.5);
  CHECK(j.at("best_cost").is_null());  // +inf: JSON has no spelling for it
  CHECK(j.at("best_iteration") == 0);
  CHECK(j.at("best_theta") == nlohmann::json::array({0.5, -0.25}));
  CHECK(j.at("theta") == nlohmann::json::array({1.0, 2.0}));
  CHECK(j.at("timings").at("critic") == 0.5);
  CHECK(j.at("timings").at("total") == 0.5);
  const auto& h = j.at("history");
  REQUIRE(h.size() == 2);
  CHECK(h[0].at("iteration") == 0);
  CHECK(h[0].at("accepted") == true);
  CHECK(h[0].at("ratio").is_null());
  CHECK(h[1].at("accepted") == false);
  CHECK(h[1].at("ratio") == -0.125);
  CHECK(h[1].at("radius").is_null());
  CHECK(h[1].at("skipped_samples") == 3);
  CHECK(h[1].at("theta_trial") == nlohmann::json::array({1.0, 2.0}));
  CHECK(h[1].at("theta")[1].get<double>() == Approx(1.0 / 3.0).epsilon(1e-9));
  // Without extra the document starts with the status.
  std::ostringstream plain;
  rmpc::rl::write_summary_json(plain, two_iterations());
  CHECK(nlohmann::json::parse(plain.str()).size() == j.size() - 1);
}
