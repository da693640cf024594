// Checks of seed_sweep.hpp without any MPC (milliseconds): rows handed on in task order when
// later runs finish first, an exception stops the sweep and is rethrown, the summary counts a
// failed run as the worst and "never" as never, the task list ends at 2^64 - 1, %.17g reads
// back bit for bit. Exit status 0 when all hold; the first failure is printed.
#include "seed_sweep.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "seed_sweep_test: FAILED: %s\n", what.c_str());
  ++failures;
}

examples_common::SweepRow row(const std::string& method, std::uint64_t seed, double cost,
                              int it_1pct) {
  examples_common::SweepRow r;
  r.method = method;
  r.seed = seed;
  r.final_cost = cost;
  r.it_1pct = it_1pct;
  return r;
}

}  // namespace

int main() {
  namespace ec = examples_common;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();

  // Order: task i sleeps longer the earlier it is, so runs finish in reverse order.
  const auto tasks = ec::sweep_tasks({"a"}, 10, 15);
  check(tasks.size() == 6 && tasks.front().seed == 10 && tasks.back().seed == 15, "sweep_tasks");
  std::vector<std::uint64_t> emitted;
  const auto rows = ec::run_sweep(
      tasks, 3,
      [](const ec::SweepTask& t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20 * (16 - int(t.seed))));
        return row(t.method, t.seed, double(t.seed), -1);
      },
      [&](const ec::SweepRow& r) { emitted.push_back(r.seed); });
  check(emitted == std::vector<std::uint64_t>({10, 11, 12, 13, 14, 15}), "on_row in seed order");
  for (std::size_t i = 0; i < rows.size(); ++i) check(rows[i].seed == 10 + i, "rows in seed order");

  // An exception in a run: rethrown, no row from it or after it handed on.
  emitted.clear();
  bool thrown = false;
  try {
    ec::run_sweep(
        tasks, 2,
        [](const ec::SweepTask& t) {
          if (t.seed == 12) throw std::runtime_error("run 12");
          return row(t.method, t.seed, 1.0, -1);
        },
        [&](const ec::SweepRow& r) { emitted.push_back(r.seed); });
  } catch (const std::runtime_error& e) {
    thrown = std::string(e.what()) == "run 12";
  }
  check(thrown, "exception rethrown");
  for (auto s : emitted) check(s < 12, "no row from or after the failed run");

  // The task list ends at 2^64 - 1 (no wrap-around).
  const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  check(ec::sweep_tasks({"a", "b"}, top - 1, top).size() == 4, "sweep_tasks up to 2^64 - 1");

  // Summary: a NaN cost is the worst (+inf) and never within; "never" counts as +inf.
  const std::vector<ec::SweepRow> r3 = {row("m", 0, 12.0, 5), row("m", 1, nan, -1),
                                        row("m", 2, 11.95, 7), row("n", 0, 11.9, 3),
                                        row("n", 1, 11.92, -1)};
  const auto s = ec::summarize(r3, {"m", "n"}, 12.0196);
  check(s.size() == 2 && s[0].runs == 3 && s[0].within == 2 && s[0].reached == 2, "counts");
  check(s[0].median_final == 12.0 && s[0].worst_final == inf, "median and worst with a failure");
  check(s[0].median_it_1pct == 7, "median iteration with a never");
  check(s[1].median_final == 0.5 * (11.9 + 11.92) && s[1].worst_final == 11.92, "even median");
  check(s[1].median_it_1pct == -1, "half never: median never");

  // Wording: linear_2d's by default; a caller's thresholds' names and extra columns otherwise.
  const std::string text = ec::summary_text(s, 12.0196, 11.9, "over 3 states");
  check(text.find("; within 1 %: <= 12.0196 (1.01 x benchmark 11.9000)\n") != std::string::npos &&
            text.find("median it to 1 %") != std::string::npos,
        "default summary wording");
  ec::SweepWording w;
  w.loose_column = "it_50pct_gap";
  w.tight_column = "it_90pct_gap";
  w.extra_columns = {"gap_closed_pct"};
  w.criterion = "closes >= 90 % of the gap: <= 2.5";
  w.within = "gap >= 90 %";
  check(ec::summary_text(s, w, "x").find("theta x; closes >= 90 % of the gap: <= 2.5\n") !=
            std::string::npos,
        "caller's summary wording");
  std::ostringstream csv, csv_default;
  ec::write_sweep_csv_header(csv_default, 1);
  check(csv_default.str() ==
            "method,seed,status,final_cost,best_cost,best_iteration,it_5pct,it_1pct,iterations,"
            "episodes,wall_s,theta1\n",
        "default CSV header");
  ec::write_sweep_csv_header(csv, 1, w);
  ec::SweepRow e = row("m", 3, 2.5, 4);
  e.extra = {12.5};
  e.theta = {1.0};
  ec::write_sweep_csv_row(csv, e);
  check(csv.str() ==
            "method,seed,status,final_cost,best_cost,best_iteration,it_50pct_gap,it_90pct_gap,"
            "iterations,episodes,wall_s,gap_closed_pct,theta1\nm,3,,2.5,nan,-1,-1,4,0,0,0,12.5,1\n",
        "caller's CSV columns");

  // %.17g reads back bit for bit.
  for (double x : {11.900583725, 0.1, 1.0 / 3.0, 12.072945423028157})
    check(std::strtod(ec::g17(x).c_str(), nullptr) == x, "g17 round trip " + ec::g17(x));
  check(ec::g17(nan) == "nan" && ec::g17(-inf) == "-inf", "g17 non-finite");

  if (failures == 0) std::printf("seed_sweep_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
