// Seed sweeps of an example's training run, the system-independent part: one run per (method,
// seed) on J threads, rows handed on in task order whatever order the runs finish in; the
// summary that judges a rule's reliability (median and worst cost of the FINAL theta, the
// fraction within 1 % of the benchmark, the median iteration to 1 %); the table as CSV with
// %.17g numbers; the distribution as a gnuplot data file, script and (gnuplot permitting) PNG.
// An example supplies only its per-seed run (examples/linear_2d/main.cpp, --sweep). The
// thresholds and their wording default to linear_2d's (1.05 and 1.01 x a benchmark cost); a
// system judged otherwise passes its own (SweepWording, make_row_at; examples/two_mass: the
// fraction of the gap between the untrained and the true-model MPC closed).
//
// Why the final theta: it is what a user deploys. The best accepted theta is chosen by
// monitoring evaluations the learner does not see, so its cost flatters the rule.
#pragma once

#include <rmpc/rl/log.hpp>
#include <rmpc/rl/loop_records.hpp>
#include <rmpc/rl/parallel.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace examples_common {

/// One run of a sweep.
struct SweepRow {
  static constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  std::string method;  ///< as the command line names it
  std::uint64_t seed = 0;
  std::string status;         ///< rmpc::rl::to_string(LoopStatus)
  double final_cost = nan;    ///< deterministic cost of the final theta (NaN: no finite cost)
  double best_cost = nan;     ///< of the best accepted theta (monitoring)
  int best_iteration = -1;    ///< its iteration
  int it_5pct = -1;           ///< first iteration whose accepted theta is within 5 % (-1: never)
  int it_1pct = -1;           ///< ... within 1 % (make_row_at: the caller's two thresholds)
  int iterations = 0;         ///< RL iterations run
  long long episodes = 0;     ///< training episodes (batches x initial states; no evaluations)
  double wall_seconds = 0;    ///< of this run alone
  std::vector<double> theta;  ///< final theta
  std::vector<double> extra;  ///< the caller's columns (SweepWording::extra_columns), after wall_s
};

/// What a system calls its thresholds; the defaults are linear_2d's (relative to a benchmark).
struct SweepWording {
  std::string loose_column = "it_5pct", tight_column = "it_1pct";  ///< sweep.csv's names
  std::vector<std::string> extra_columns;                          ///< names of SweepRow::extra
  std::string criterion;  ///< the summary's threshold line (after "; ")
  std::string within = "within 1 %", median_it = "median it to 1 %";  ///< summary columns
  std::string plot_label;  ///< the threshold's key in the plot (empty: "within 1 %: <cost>")
};

/// First iteration whose accepted theta's deterministic cost is at most `threshold` (-1: never).
template <typename Scalar, int NP>
int first_iteration_within(const rmpc::rl::LoopResult<Scalar, NP>& r, double threshold) {
  for (const auto& h : r.history)
    if (std::isfinite(double(h.eval_cost)) && double(h.eval_cost) <= threshold) return h.iteration;
  return -1;
}

/// The row of a finished run; it_5pct / it_1pct are the first iterations at or below the
/// costs `loose` / `tight`; `states` is the number of initial states (episodes per batch).
template <typename Scalar, int NP>
SweepRow make_row_at(const std::string& method, std::uint64_t seed,
                     const rmpc::rl::LoopResult<Scalar, NP>& r, double loose, double tight,
                     long long states) {
  SweepRow row;
  row.method = method;
  row.seed = seed;
  row.status = rmpc::rl::to_string(r.status);
  // The last record holds the accepted theta's cost after a rejection too (loop_records.hpp).
  if (!r.history.empty() && std::isfinite(double(r.history.back().eval_cost)))
    row.final_cost = double(r.history.back().eval_cost);
  if (std::isfinite(double(r.best_cost))) row.best_cost = double(r.best_cost);
  row.best_iteration = r.best_iteration;
  row.it_5pct = first_iteration_within(r, loose);
  row.it_1pct = first_iteration_within(r, tight);
  row.iterations = int(r.history.size());
  row.episodes = (long long)(r.history.size()) * states;
  row.wall_seconds = r.wall_seconds;
  for (Eigen::Index j = 0; j < r.theta.size(); ++j) row.theta.push_back(double(r.theta(j)));
  return row;
}

/// The row with linear_2d's thresholds: within 5 % and 1 % of `benchmark`, the cost of the
/// benchmark over the same initial states.
template <typename Scalar, int NP>
SweepRow make_row(const std::string& method, std::uint64_t seed,
                  const rmpc::rl::LoopResult<Scalar, NP>& r, double benchmark, long long states) {
  return make_row_at(method, seed, r, 1.05 * benchmark, 1.01 * benchmark, states);
}

/// One run to do: a method and a seed.
struct SweepTask {
  std::string method;
  std::uint64_t seed = 0;
};

/// The tasks of methods x seeds first..last, method by method, seeds ascending.
inline std::vector<SweepTask> sweep_tasks(const std::vector<std::string>& methods,
                                          std::uint64_t first, std::uint64_t last) {
  std::vector<SweepTask> tasks;
  for (const auto& m : methods)
    for (std::uint64_t s = first;; ++s) {
      tasks.push_back({m, s});
      if (s == last) break;  // last may be 2^64 - 1
    }
  return tasks;
}

/// The default --jobs: one run per core.
inline int default_jobs() { return std::max(1, int(std::thread::hardware_concurrency())); }

/// Calls run(task) -> SweepRow for every task on `jobs` threads (each run should be
/// single-threaded: the cores are the sweep's). on_row(row) is called once per row, in task
/// order, as soon as that row and all rows before it are done, one call at a time, so the
/// output streams in seed order. The rows come back in task order. An exception thrown by run
/// or on_row is rethrown here after the runs in progress end (no new run starts).
template <typename Run, typename OnRow>
std::vector<SweepRow> run_sweep(const std::vector<SweepTask>& tasks, int jobs, Run&& run,
                                OnRow&& on_row) {
  std::vector<SweepRow> rows(tasks.size());
  std::vector<char> done(tasks.size(), 0);
  std::size_t next_out = 0;  // first row not yet handed to on_row
  std::mutex mutex;
  rmpc::rl::parallel_for(std::ptrdiff_t(tasks.size()), jobs, [&](std::ptrdiff_t i, int) {
    SweepRow row = run(tasks[std::size_t(i)]);
    std::lock_guard<std::mutex> lock(mutex);
    rows[std::size_t(i)] = std::move(row);
    done[std::size_t(i)] = 1;
    for (; next_out < rows.size() && done[next_out]; ++next_out) on_row(rows[next_out]);
  });
  return rows;
}

/// The statistics of one method's runs.
struct MethodSummary {
  std::string method;
  int runs = 0;
  int within = 0;   ///< final cost <= threshold
  int reached = 0;  ///< runs whose accepted theta reached it_1pct's threshold
  double median_final = SweepRow::nan, worst_final = SweepRow::nan;  ///< +inf: a run failed
  double median_it_1pct = -1;  ///< -1: never (fewer than half the runs get there)
};

/// Median of sorted values (+inf allowed: a failed run, or "never").
inline double sorted_median(const std::vector<double>& v) {
  if (v.empty()) return SweepRow::nan;
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Per method (in the order given): median and worst final cost, with a run without a finite
/// cost counted as +inf (a failure must not improve the statistics), runs within `threshold`,
/// and the median iteration to 1 % with "never" counted as +inf.
inline std::vector<MethodSummary> summarize(const std::vector<SweepRow>& rows,
                                            const std::vector<std::string>& methods,
                                            double threshold) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<MethodSummary> out;
  for (const auto& m : methods) {
    MethodSummary s;
    s.method = m;
    std::vector<double> costs, its;
    for (const auto& r : rows) {
      if (r.method != m) continue;
      ++s.runs;
      const bool finite = std::isfinite(r.final_cost);
      costs.push_back(finite ? r.final_cost : inf);
      s.within += finite && r.final_cost <= threshold ? 1 : 0;
      s.reached += r.it_1pct >= 0 ? 1 : 0;
      its.push_back(r.it_1pct >= 0 ? double(r.it_1pct) : inf);
    }
    std::sort(costs.begin(), costs.end());
    std::sort(its.begin(), its.end());
    if (!costs.empty()) s.worst_final = costs.back();
    s.median_final = sorted_median(costs);
    const double it = sorted_median(its);
    s.median_it_1pct = std::isfinite(it) ? it : -1;
    out.push_back(s);
  }
  return out;
}

/// A number as the sweep's files write it: %.17g (every double read back bit for bit), nan/inf.
inline std::string g17(double v) { return rmpc::rl::csv_number(v, 17); }

/// The summary table; `what` says what the costs are (e.g. "over the 50 training states"),
/// w.criterion the threshold, w.within and w.median_it the column heads.
inline std::string summary_text(const std::vector<MethodSummary>& summaries, const SweepWording& w,
                                const std::string& what) {
  char buf[600];
  std::snprintf(buf, sizeof buf,
                "deterministic cost of the FINAL theta %s; %s\n%-16s %5s %11s %13s %13s %17s\n",
                what.c_str(), w.criterion.c_str(), "method", "runs", w.within.c_str(),
                "median final", "worst final", w.median_it.c_str());
  std::string s = buf;
  for (const auto& m : summaries) {
    const std::string within = std::to_string(m.within) + " / " + std::to_string(m.runs);
    std::string it = "never";
    if (m.median_it_1pct >= 0) {
      std::snprintf(buf, sizeof buf, "%g", m.median_it_1pct);
      it = buf;
    }
    it += " (" + std::to_string(m.reached) + " reach)";
    std::snprintf(buf, sizeof buf, "%-16s %5d %11s %13.4f %13.4f %17s\n", m.method.c_str(), m.runs,
                  within.c_str(), m.median_final, m.worst_final, it.c_str());
    s += buf;
  }
  return s;
}

/// linear_2d's summary: `threshold` = 1.01 x `benchmark`.
inline std::string summary_text(const std::vector<MethodSummary>& summaries, double threshold,
                                double benchmark, const std::string& what) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "within 1 %%: <= %.4f (1.01 x benchmark %.4f)", threshold,
                benchmark);
  SweepWording w;
  w.criterion = buf;
  return summary_text(summaries, w, what);
}

/// The sweep table: one line per row, numbers in %.17g, theta1.. the final theta.
inline void write_sweep_csv_header(std::ostream& out, std::size_t theta_size,
                                   const SweepWording& w = {}) {
  out << "method,seed,status,final_cost,best_cost,best_iteration," << w.loose_column << ','
      << w.tight_column << ",iterations,episodes,wall_s";
  for (const auto& name : w.extra_columns) out << ',' << name;
  for (std::size_t j = 0; j < theta_size; ++j) out << ",theta" << (j + 1);
  out << "\n";
}
inline void write_sweep_csv_row(std::ostream& out, const SweepRow& r) {
  out << r.method << ',' << r.seed << ',' << r.status << ',' << g17(r.final_cost) << ','
      << g17(r.best_cost) << ',' << r.best_iteration << ',' << r.it_5pct << ',' << r.it_1pct << ','
      << r.iterations << ',' << r.episodes << ',' << g17(r.wall_seconds);
  for (double x : r.extra) out << ',' << g17(x);
  for (double t : r.theta) out << ',' << g17(t);
  out << "\n";
}

/// gnuplot data of the distribution: one block per method (gnuplot's `index k`), one line per
/// run "x final_cost seed" with x = k + 1 spread by the run's position so that equal costs
/// stay visible; runs without a finite cost are listed as comments (a log axis cannot show
/// them).
inline void write_distribution_dat(std::ostream& out, const std::vector<SweepRow>& rows,
                                   const std::vector<std::string>& methods) {
  for (std::size_t k = 0; k < methods.size(); ++k) {
    out << "# " << methods[k] << ": x final_cost seed\n";
    int i = 0;
    for (const auto& r : rows) {
      if (r.method != methods[k]) continue;
      const double x = double(k + 1) + 0.25 * (double(i++ % 9) / 4.0 - 1.0);
      if (std::isfinite(r.final_cost))
        out << g17(x) << ' ' << g17(r.final_cost) << ' ' << r.seed << "\n";
      else
        out << "# seed " << r.seed << ": no finite final cost (" << r.status << ")\n";
    }
    out << "\n\n";
  }
}

/// gnuplot script: a box per method over its runs' final costs, the runs as points, the
/// threshold as a dashed line. Log y only when the costs span more than a factor 3 (a diverged
/// run must not flatten the rest; near the benchmark a log axis would hide the spread).
inline void write_distribution_gp(std::ostream& gp, const std::string& terminal,
                                  const std::string& dat, const std::string& png,
                                  const std::vector<SweepRow>& rows,
                                  const std::vector<std::string>& methods, double threshold,
                                  const std::string& title, const std::string& ylabel,
                                  const std::string& threshold_label = "") {
  double lo = threshold, hi = threshold;
  for (const auto& r : rows)
    if (std::isfinite(r.final_cost)) {
      lo = std::min(lo, r.final_cost);
      hi = std::max(hi, r.final_cost);
    }
  char label[64];
  std::snprintf(label, sizeof label, "within 1 %%: %.4f", threshold);
  const std::string key = threshold_label.empty() ? std::string(label) : threshold_label;
  gp << "set terminal " << terminal << "\nset output '" << png << "'\n"
     << "set title '" << title << "' noenhanced\nset ylabel '" << ylabel << "' noenhanced\n"
     << (lo > 0 && hi > 3 * lo ? "set logscale y\n" : "set offsets 0, 0, graph 0.05, graph 0.05\n")
     << "set grid ytics\nset key top right noenhanced\n"
     << "set style boxplot nooutliers\nset boxwidth 0.5\n"
     << "set xrange [0.4:" << methods.size() << ".6]\nset xtics (";
  for (std::size_t k = 0; k < methods.size(); ++k)
    gp << (k ? ", " : "") << "'" << methods[k] << "' " << (k + 1);
  gp << ") noenhanced\nplot ";
  for (std::size_t k = 0; k < methods.size(); ++k)
    gp << "'" << dat << "' index " << k << " using (" << (k + 1)
       << "):2 with boxplot lc rgb 'gray' notitle, '" << dat << "' index " << k
       << " using 1:2 with points pt 7 ps 0.8 lc " << (k + 1) << " notitle, ";
  gp << g17(threshold) << " with lines dt 2 lw 2 lc rgb 'black' title '" << key << "'\n";
}

/// Whether `gnuplot` is on PATH.
inline bool have_gnuplot() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

/// Runs gnuplot on the script `write_gp(terminal)` writes to gp_path: pngcairo first, the plain
/// png terminal if that fails (some builds lack cairo). Returns false when gnuplot is not on
/// PATH (the plot skipped); throws std::runtime_error when gnuplot fails. A stale PNG must not
/// pass for a new one: it counts as written only if gnuplot succeeds and the file exists.
/// Paths go to the shell in single quotes: they must not contain one.
template <typename WriteGp>
bool plot_png(const std::string& gp_path, const std::string& png, WriteGp&& write_gp) {
  write_gp("pngcairo size 800,500 font ',10'");
  if (!have_gnuplot()) return false;
  std::error_code ec;
  std::filesystem::remove(png, ec);
  auto plotted = [&](const char* redirect) {
    return std::system(("gnuplot '" + gp_path + "'" + redirect).c_str()) == 0 &&
           std::filesystem::exists(png, ec);
  };
  if (plotted(" 2>/dev/null")) return true;
  write_gp("png size 800,500");
  if (plotted("")) return true;
  throw std::runtime_error("gnuplot did not write " + png + " (script " + gp_path + ")");
}

}  // namespace examples_common
