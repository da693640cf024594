// libFuzzer target for qp::DenseSolver and qp::Sensitivity (issue #15).
//
// Each input decodes to a small dense QP (n in 1..8, p in 0..3, m in 0..12), deliberately
// rich in degenerate structure (duplicated rows, parallel rows scaled by 10^k, lb = ub pairs,
// tiny H, huge g, exact-L1 soft rows), is solved cold, then warm after a small change of
// g and d, and every answer is checked by an INDEPENDENT oracle written here from the
// problem statement in problem.hpp (no solver internals are called):
//
//   status optimal      -> KKT certificate: primal feasibility, multiplier boxes, row states,
//                          complementarity, stationarity, reported objective, and the
//                          objective is no worse than known feasible points (duality bound).
//   status infeasible   -> a bug when the input planted a feasible point z0.
//   singular_hessian /
//   non_convex          -> a bug when H = L L' + shift I is clearly positive definite.
//   invalid_input       -> required (and only allowed) when the input injected NaN/Inf/bad data.
//   max_iterations /
//   inaccurate          -> counted (not a proven bug: the solver admits it did not certify).
//
// Sensitivity: for an optimal cold solve with SensitivityStatus::ok, dz/dtheta along one random
// direction of (g, b, d) is compared with a central finite difference of two cold re-solves.
// With the active set fixed, z is affine in (g, b, d), so the difference quotient is exact up
// to round-off; it is compared only when the row states at +h and -h equal the base ones.
//
// Tolerances (all relative; see kTol*):
//   kTol = 1e-7        KKT residuals relative to the normwise size of the terms they sum (row i:
//                      ||C_i|| ||z|| + |d_i|, 2-norms; stationarity: ||H|| ||z|| + ||g|| + ||A'||
//                      ||y_eq||
//                      + ||C'|| ||y_ineq||, infinity norms). The solver certifies at 1e4 eps ~
//                      2e-12, so 1e-7 flags only real errors, never round-off.
//   kTolSens = 1e-5    derivative mismatch relative to |dz|, plus a round-off allowance
//                      10 (e+ + e-) / (2h) for the difference quotient, e = eps (|H||z| + |g|
//                      + |A'||y_eq| + |C'||y_ineq|) / lambda_min(H) + eps |A_ws| |z| /
//                      sigma_min(A_ws) the re-solves' forward error (A_ws: the working set),
//                      and 1e3 |dz| eps |data| / (h |s|) for rounding theta + h s; the check is
//                      skipped when eps |data| / (h |s|) > 1e-9 (step below the data's resolution).
//
// A violation prints a diagnosis (the decoded problem and the offending numbers) and traps.
// Counters (execs, statuses, certified optimal solves, sensitivity checks) print at exit.
// Build and run: scripts/run_fuzz.sh [seconds]. Reproduce one input: build/fuzz/fuzz_qp FILE.

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>
#include <sstream>
#include <string>

namespace {

using Problem = rmpc::qp::Problem<double>;
using Solver = rmpc::qp::DenseSolver<double>;
using Result = rmpc::qp::Result<double>;
using Status = rmpc::qp::Status;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using RowStates = Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kTol = 1e-7;
constexpr double kTolSens = 1e-5;

// ---- Counters, printed at exit ----------------------------------------------------------

struct Counters {
  unsigned long execs = 0, decoded = 0, invalid_mode = 0, certified_optimal = 0, planted = 0;
  unsigned long cold[7] = {}, warm[7] = {};
  unsigned long sens_ok = 0, sens_checked = 0, sens_skipped_active_set = 0,
                sens_skipped_resolution = 0;
};
Counters counters;

void print_counters() {
  const char* names[7] = {"optimal",       "infeasible",       "max_iterations", "non_convex",
                          "invalid_input", "singular_hessian", "inaccurate"};
  std::fprintf(
      stderr,
      "\n[fuzz_qp] execs %lu, decoded QPs %lu (planted feasible %lu, invalid-input mode %lu)\n",
      counters.execs, counters.decoded, counters.planted, counters.invalid_mode);
  std::fprintf(stderr, "[fuzz_qp] certified optimal solves (oracle passed): %lu\n",
               counters.certified_optimal);
  for (int s = 0; s < 7; ++s)
    std::fprintf(stderr, "[fuzz_qp]   %-16s cold %lu  warm %lu\n", names[s], counters.cold[s],
                 counters.warm[s]);
  std::fprintf(stderr,
               "[fuzz_qp] sensitivity: status ok %lu, checked against finite differences %lu, "
               "skipped (active set changed %lu, step below data resolution %lu)\n",
               counters.sens_ok, counters.sens_checked, counters.sens_skipped_active_set,
               counters.sens_skipped_resolution);
}

// ---- Decoding ---------------------------------------------------------------------------

// Reads the input byte by byte; past the end it yields zeros, so every input decodes.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : uint8_t(0); }
  // A bounded value in [-4, 4) on a grid of 1/32: exact, never NaN, often exactly zero.
  double value() { return double(int8_t(byte())) / 32.0; }
  double nonneg_value() { return std::abs(value()); }

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
};

enum RowKind : int { row_fresh = 0, row_duplicate = 1, row_parallel = 2, row_negated_pair = 3 };

struct Case {
  Problem qp;
  bool planted = false;   // z0 satisfies A z0 = b and every hard row: `infeasible` is a bug
  Vec z0;                 // the planted point (also a candidate when not planted)
  bool invalid = false;   // data made invalid on purpose: invalid_input is required
  int invalid_kind = -1;  // which datum (for the diagnosis)
  bool invalid_via_update = false;  // the invalid datum is passed to update_linear_terms()
  Vec g_bad, b_bad, d_bad;          // ... namely these
  Vec dg, dd;                       // perturbation for the warm solve (dd >= 0 keeps z0 feasible)
  Vec sg, sb, sd;                   // sensitivity direction
  double h_min_eig = 0, h_max_eig = 0;
  std::string layout;  // row kinds, for diagnoses
};

// H = s (L L' + shift I), with L lower triangular of a byte-chosen rank (singular when
// shift = 0 and rank < n), symmetrized exactly; s = 1e-12 in "tiny H" mode.
Mat decode_hessian(Bytes& in, int n, bool tiny) {
  const int rank = 1 + in.byte() % n;
  static const double shifts[8] = {0.0, 1e-10, 1e-6, 1e-3, 0.1, 1.0, 10.0, 100.0};
  const double shift = shifts[in.byte() % 8];
  Mat L = Mat::Zero(n, n);
  for (int j = 0; j < rank; ++j)
    for (int i = j; i < n; ++i) L(i, j) = in.value();
  Mat H = L * L.transpose();
  H.diagonal().array() += shift;
  H = 0.5 * (H + H.transpose()).eval();
  if (tiny) H *= 1e-12;
  return H;
}

// Inequality rows: each row is fresh, a duplicate of the previous one, a positive multiple
// 10^k (k in -3..3) of it, or its negation with the negated rhs (lb = ub pair). With `planted`
// each hard row gets d_i = C_i z0 + slack (slack >= 0, often exactly 0), and the rows of an
// lb = ub chain all get zero slack, so z0 is feasible by construction.
void decode_inequalities(Bytes& in, Case& c, int n, int m) {
  Problem& qp = c.qp;
  for (int i = 0; i < m; ++i) {
    const uint8_t kind_byte = in.byte();
    const int kind = i == 0 ? row_fresh : kind_byte % 4;
    const uint8_t weight_byte = in.byte();
    // About one row in four is soft, with weight 10^k, k in -4..4.
    qp.soft_weight(i) =
        weight_byte % 4 == 0 ? std::pow(10.0, double((weight_byte >> 2) % 9) - 4.0) : kInf;
    const double slack = (in.byte() % 3 == 0) ? 0.0 : in.nonneg_value();
    const double offset = in.value();
    switch (kind) {
      case row_fresh:
        for (int j = 0; j < n; ++j) qp.C(i, j) = in.value();
        qp.d(i) = offset;
        c.layout += 'F';
        break;
      case row_duplicate:
        qp.C.row(i) = qp.C.row(i - 1);
        qp.d(i) = qp.d(i - 1) + slack;
        c.layout += 'D';
        break;
      case row_parallel: {
        const double scale = std::pow(10.0, double((kind_byte >> 2) % 7) - 3.0);
        qp.C.row(i) = scale * qp.C.row(i - 1);
        qp.d(i) = scale * qp.d(i - 1) + slack;
        c.layout += 'P';
        break;
      }
      case row_negated_pair:
        qp.C.row(i) = -qp.C.row(i - 1);
        qp.d(i) = -qp.d(i - 1);
        c.layout += 'N';
        break;
    }
    if (c.planted) {
      if (kind == row_negated_pair) {
        // -(C z0) == (-C) z0 exactly, so both rows of the pair are met with equality.
        qp.d(i - 1) = qp.C.row(i - 1).dot(c.z0);
        qp.d(i) = qp.C.row(i).dot(c.z0);
      } else {
        qp.d(i) = qp.C.row(i).dot(c.z0) + slack;
      }
    }
  }
}

// Invalid-input mode: one datum becomes NaN/Inf, a soft weight becomes NaN/0/negative, H
// becomes non-symmetric, or a NaN is passed to update_linear_terms() later.
void make_invalid(Bytes& in, Case& c) {
  Problem& qp = c.qp;
  const int n = int(qp.g.size()), p = int(qp.b.size()), m = int(qp.d.size());
  const uint8_t kind = in.byte() % 10, where = in.byte();
  const double bad =
      (where & 1) ? std::numeric_limits<double>::quiet_NaN() : ((where & 2) ? kInf : -kInf);
  c.invalid = true;
  c.invalid_kind = kind;
  switch (kind) {
    case 0: {
      const int i = where % n, j = (where / 8) % n;
      qp.H(i, j) = bad;
      qp.H(j, i) = bad;
      return;
    }
    case 2:
      if (p > 0) {
        qp.A(where % p, (where / 4) % n) = bad;
        return;
      }
      break;
    case 3:
      if (p > 0) {
        qp.b(where % p) = bad;
        return;
      }
      break;
    case 4:
      if (m > 0) {
        qp.C(where % m, (where / 16) % n) = bad;
        return;
      }
      break;
    case 5:
      if (m > 0) {
        qp.d(where % m) = bad;
        return;
      }
      break;
    case 6:
      if (m > 0) {
        qp.soft_weight(where % m) = std::numeric_limits<double>::quiet_NaN();
        return;
      }
      break;
    case 7:
      if (m > 0) {
        qp.soft_weight(where % m) = (where & 4) ? 0.0 : -1.0;
        return;
      }
      break;
    case 8:
      if (n > 1) {
        qp.H(0, 1) += 1.0 + std::abs(qp.H(0, 1));
        return;
      }
      break;
    case 9: {
      c.invalid_via_update = true;
      c.g_bad = qp.g, c.b_bad = qp.b, c.d_bad = qp.d;
      const int target = where % 3;
      if (target == 1 && p > 0)
        c.b_bad(where % p) = bad;
      else if (target == 2 && m > 0)
        c.d_bad(where % m) = bad;
      else
        c.g_bad(where % n) = bad;
      return;
    }
    default: break;
  }
  qp.g(where % n) = bad;  // kind 1, or the chosen datum does not exist
  c.invalid_kind = 1;
}

Case decode(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  Case c;
  const uint8_t flags = in.byte();
  const uint8_t mode = in.byte();
  c.planted = flags & 1;
  const bool tiny_h = flags & 2, huge_g = flags & 4;
  const int n = 1 + in.byte() % 8, p = in.byte() % 4, m = in.byte() % 13;
  c.qp.resize(n, p, m);
  c.qp.H = decode_hessian(in, n, tiny_h);
  c.z0.resize(n);
  for (int j = 0; j < n; ++j) c.z0(j) = in.value();
  for (int j = 0; j < n; ++j) c.qp.g(j) = in.value() * (huge_g ? 1e8 : 1.0);
  for (int k = 0; k < p; ++k) {
    for (int j = 0; j < n; ++j) c.qp.A(k, j) = in.value();
    c.qp.b(k) = c.planted ? c.qp.A.row(k).dot(c.z0) : in.value();
  }
  decode_inequalities(in, c, n, m);
  // Warm-start perturbation: small, and d only grows so a planted z0 stays feasible.
  c.dg.resize(n), c.dd.resize(m);
  for (int j = 0; j < n; ++j) c.dg(j) = 1e-3 * in.value() * (1.0 + std::abs(c.qp.g(j)));
  for (int i = 0; i < m; ++i) c.dd(i) = 1e-3 * in.nonneg_value();
  // Sensitivity direction in (g, b, d).
  c.sg.resize(n), c.sb.resize(p), c.sd.resize(m);
  for (int j = 0; j < n; ++j) c.sg(j) = in.value();
  for (int k = 0; k < p; ++k) c.sb(k) = in.value();
  for (int i = 0; i < m; ++i) c.sd(i) = in.value();
  Eigen::SelfAdjointEigenSolver<Mat> es(c.qp.H, Eigen::EigenvaluesOnly);
  c.h_min_eig = es.eigenvalues().minCoeff();
  c.h_max_eig = es.eigenvalues().maxCoeff();
  if (mode % 16 == 15) make_invalid(in, c);
  return c;
}

// ---- Diagnosis --------------------------------------------------------------------------

const Eigen::IOFormat kFmt(Eigen::FullPrecision, 0, ", ", ";\n", "[", "]", "[", "]");

void print_problem(const Problem& qp, const Case& c) {
  std::fprintf(stderr,
               "n = %d, p = %d, m = %d, planted = %d, row kinds = %s, eig(H) in [%.17g, %.17g]\n",
               int(qp.g.size()), int(qp.b.size()), int(qp.d.size()), int(c.planted),
               c.layout.c_str(), c.h_min_eig, c.h_max_eig);
  auto show = [](const char* name, const auto& x) {
    std::ostringstream o;
    o << x.format(kFmt);
    std::fprintf(stderr, "%s =\n%s\n", name, o.str().c_str());
  };
  show("H", qp.H);
  show("g", qp.g.transpose());
  show("A", qp.A);
  show("b", qp.b.transpose());
  show("C", qp.C);
  show("d", qp.d.transpose());
  show("soft_weight", qp.soft_weight.transpose());
  show("z0", c.z0.transpose());
}

[[noreturn]] void fail(const char* stage, const std::string& what, const Problem& qp, const Case& c,
                       const Result* r) {
  std::fprintf(stderr, "\n==== fuzz_qp ORACLE VIOLATION (%s) ====\n%s\n", stage, what.c_str());
  print_problem(qp, c);
  if (r) {
    std::ostringstream o;
    o << "status = " << rmpc::qp::to_string(r->status) << " (" << r->message
      << "), iterations = " << r->iterations << ", objective = " << r->objective
      << "\nz = " << r->z.transpose().format(kFmt)
      << "\ny_eq = " << r->y_eq.transpose().format(kFmt)
      << "\ny_ineq = " << r->y_ineq.transpose().format(kFmt)
      << "\nrow_state = " << r->row_state.cast<int>().transpose();
    std::fprintf(stderr, "%s\n", o.str().c_str());
  }
  std::fflush(stderr);
  __builtin_trap();
}

std::string fmt(const char* f, double a, double b = 0, double c2 = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c2);
  return buf;
}

// ---- The oracle -------------------------------------------------------------------------

// Objective as problem.hpp defines it, including the soft rows' L1 penalties.
double objective(const Problem& qp, const Vec& z) {
  double f = 0.5 * z.dot(qp.H * z) + qp.g.dot(z);
  for (Eigen::Index i = 0; i < qp.d.size(); ++i)
    if (qp.is_soft(i)) f += qp.soft_weight(i) * std::max(0.0, qp.C.row(i).dot(z) - qp.d(i));
  return f;
}

// Sum of absolute values of the objective's terms: the scale its round-off is relative to.
double objective_scale(const Problem& qp, const Vec& z) {
  const Vec az = z.cwiseAbs();
  double s = 0.5 * az.dot(qp.H.cwiseAbs() * az) + qp.g.cwiseAbs().dot(az);
  for (Eigen::Index i = 0; i < qp.d.size(); ++i)
    if (qp.is_soft(i))
      s += qp.soft_weight(i) * (qp.C.row(i).cwiseAbs().dot(az) + std::abs(qp.d(i)));
  return s;
}

// Scale of a row residual a'z - rhs: |a| |z| + |rhs| in 2-norms. Normwise, not |a|'|z|: the
// solver's error in z is of order eps |z| in EVERY component (e.g. tiny H with huge g gives
// z = (8e19, 2.5e4) where the exact second component is ~0), and a row that does not see the
// large components must not turn that round-off into a "violation".
template <typename Row>
double row_scale(const Row& a, const Vec& z, double rhs) {
  return a.norm() * z.norm() + std::abs(rhs);
}

// Certifies an `optimal` answer from scratch: every KKT condition, relative to its own scale.
void check_kkt(const char* stage, const Problem& qp, const Case& c, const Result& r) {
  const Eigen::Index n = qp.g.size(), p = qp.b.size(), m = qp.d.size();
  if (r.z.size() != n || r.y_eq.size() != p || r.y_ineq.size() != m || r.row_state.size() != m)
    fail(stage, "result vectors have wrong sizes", qp, c, &r);
  if (!r.z.allFinite() || !r.y_eq.allFinite() || !r.y_ineq.allFinite() ||
      !std::isfinite(r.objective))
    fail(stage, "optimal result has NaN/Inf entries", qp, c, &r);
  // Multiplier scale: the largest multiplier or finite soft weight (a dual quantity).
  double y_scale = std::max(r.y_eq.size() ? r.y_eq.cwiseAbs().maxCoeff() : 0.0,
                            r.y_ineq.size() ? r.y_ineq.cwiseAbs().maxCoeff() : 0.0);
  for (Eigen::Index i = 0; i < m; ++i)
    if (qp.is_soft(i)) y_scale = std::max(y_scale, qp.soft_weight(i));
  const double y_tol = kTol * std::max(y_scale, std::numeric_limits<double>::min());

  for (Eigen::Index k = 0; k < p; ++k) {
    const double res = qp.A.row(k).dot(r.z) - qp.b(k);
    const double scale = row_scale(qp.A.row(k), r.z, qp.b(k));
    if (std::abs(res) > kTol * scale)
      fail(stage,
           "equality " + std::to_string(k) +
               fmt(" violated: A_k z - b_k = %.6g, scale %.6g", res, scale),
           qp, c, &r);
  }
  for (Eigen::Index i = 0; i < m; ++i) {
    const double viol = qp.C.row(i).dot(r.z) - qp.d(i);  // > 0: violated / slack of a soft row
    const double scale = row_scale(qp.C.row(i), r.z, qp.d(i));
    const double w = qp.soft_weight(i), y = r.y_ineq(i);
    const bool soft = qp.is_soft(i);
    const std::string row = "row " + std::to_string(i);
    if (!soft && viol > kTol * scale)
      fail(stage, row + fmt(" (hard) violated: C_i z - d_i = %.6g, scale %.6g", viol, scale), qp, c,
           &r);
    if (y < -y_tol) fail(stage, row + fmt(" multiplier %.6g < 0", y), qp, c, &r);
    if (soft && y > w + y_tol)
      fail(stage, row + fmt(" multiplier %.6g above its soft weight %.6g", y, w), qp, c, &r);
    // Complementarity: a strictly satisfied row has y = 0; a strictly violated soft row y = w.
    if (viol < -kTol * scale && y > y_tol)
      fail(stage,
           row + fmt(" complementarity: slack %.6g (scale %.6g) but multiplier %.6g", -viol, scale,
                     y),
           qp, c, &r);
    if (soft && viol > kTol * scale && y < w - y_tol)
      fail(stage,
           row + fmt(" soft row violated by %.6g but multiplier %.6g < w = %.6g", viol, y, w), qp,
           c, &r);
    // Row states must agree with the multipliers they describe.
    const int st = r.row_state(i);
    if (st != rmpc::qp::inactive && st != rmpc::qp::active && st != rmpc::qp::saturated)
      fail(stage, row + " has an unknown row_state " + std::to_string(st), qp, c, &r);
    if (st == rmpc::qp::inactive && std::abs(y) > y_tol)
      fail(stage, row + fmt(" inactive with multiplier %.6g", y), qp, c, &r);
    if (st == rmpc::qp::saturated && (!soft || std::abs(y - w) > y_tol))
      fail(stage, row + fmt(" saturated but multiplier %.6g, weight %.6g", y, w), qp, c, &r);
    if (st == rmpc::qp::active && std::abs(viol) > kTol * scale)
      fail(stage, row + fmt(" active but C_i z - d_i = %.6g (scale %.6g)", viol, scale), qp, c, &r);
  }
  // Stationarity of the Lagrangian, max-norm relative to the normwise size of its terms
  // (||H|| ||z|| + ||g|| + ||A'|| ||y_eq|| + ||C'|| ||y_ineq||, infinity norms), for the same
  // reason as row_scale: z carries an error of eps |z| in every component, so H_jk z_k can be
  // round-off far above the componentwise sum |H_j.||z| (a fuzz input: z1* = 3.5e-18 next to
  // z3* = 0.125, H_41 = 2.9 gives a residual 6.4e-18 against a componentwise scale of 2.5e-11
  // but a normwise one of 0.86).
  const Vec resid = qp.H * r.z + qp.g + qp.A.transpose() * r.y_eq + qp.C.transpose() * r.y_ineq;
  const auto inf_norm = [](const Eigen::MatrixXd& M) {
    return M.size() ? M.cwiseAbs().rowwise().sum().maxCoeff() : 0.0;
  };
  const auto max_abs = [](const Vec& v) { return v.size() ? v.cwiseAbs().maxCoeff() : 0.0; };
  const double scale = inf_norm(qp.H) * max_abs(r.z) + max_abs(qp.g) +
                       inf_norm(qp.A.transpose()) * max_abs(r.y_eq) +
                       inf_norm(qp.C.transpose()) * max_abs(r.y_ineq);
  if (max_abs(resid) > kTol * scale)
    fail(stage, fmt("stationarity residual %.6g > %.1g * scale %.6g", max_abs(resid), kTol, scale),
         qp, c, &r);
  // The reported objective is the objective at z.
  const double f = objective(qp, r.z), fs = objective_scale(qp, r.z);
  if (std::abs(f - r.objective) > kTol * fs + 1e-300)
    fail(stage, fmt("reported objective %.17g, recomputed %.17g (scale %.6g)", r.objective, f, fs),
         qp, c, &r);
}

// The optimum is no worse than a point zc that is feasible up to round-off. By convexity and
// the KKT conditions, f(zc) >= f(z*) - y_eq'(A zc - b) - sum_hard y_i max(0, C_i zc - d_i),
// so the small violations of zc are paid for with the solution's own multipliers. z* is a
// KKT point only up to round-off: its own row residuals r* (times y) and its stationarity
// residual s* (times |zc - z*|) enter the bound as well, since f(zc) - f(z*) >=
// grad f(z*)'(zc - z*) = -y'(K zc - k) + y'(K z* - k) + s*'(zc - z*). (A fuzz input: huge g,
// z2* = -3.5e-18 instead of 0, f(z*) - f(z0) = 4.3e-11 with |y| ~ 1e7.)
void check_not_worse_than(const char* stage, const char* which, const Problem& qp, const Case& c,
                          const Result& r, const Vec& zc) {
  const Eigen::Index p = qp.b.size(), m = qp.d.size();
  // A row residual below eps times its scale is not measurable in floating point (the
  // computed A_k z* - b_k can be 0 while z* sits eps |z| off the exact row), yet z* is then
  // the exact point of rows moved by that much, and f moves by y_k times it: the allowance
  // takes the larger of the computed residual and 8 eps row_scale (a fuzz input: equalities
  // pinning z2 = 0 through a 0.03125 coefficient, z2* = -2.7e-15, |y_eq| ~ 1.2e9 and
  // g2 = -1.25e7, so f(z*) = 3.3e-8 against f(z0) = 4.4e-13).
  const auto unmeasurable = [&](double res, double scale) {
    return std::max(std::abs(res), 8 * kEps * scale);
  };
  double allowance = 0;
  for (Eigen::Index k = 0; k < p; ++k)
    allowance += std::abs(r.y_eq(k)) *
                 unmeasurable(qp.A.row(k).dot(r.z) - qp.b(k), row_scale(qp.A.row(k), r.z, qp.b(k)));
  for (Eigen::Index i = 0; i < m; ++i) {  // a saturated soft row's slack is no residual
    if (r.row_state(i) == rmpc::qp::saturated) continue;
    const double res = qp.C.row(i).dot(r.z) - qp.d(i);
    if (r.row_state(i) == rmpc::qp::active)
      allowance += std::abs(r.y_ineq(i)) * unmeasurable(res, row_scale(qp.C.row(i), r.z, qp.d(i)));
    // A soft row's round-off residual on its violated side (active, or inactive and within
    // the kTol row_scale check_kkt accepts) costs w res in f(z*), which the exact KKT point
    // does not pay (fuzz inputs: active, res = 3e-41 at |z*| = 2e-23, w = 100, f(z*) = 3e-39
    // against f(z0) = 0; inactive, res = 2.5e-14 at |z*| = 3.1, w = 0.1, f(z*) = 2.5e-15
    // against f(z0) = 4.9e-22 with eig(H) in [1e-22, 7e-12]).
    if (qp.is_soft(i)) allowance += qp.soft_weight(i) * std::max(0.0, res);
  }
  {
    Vec stat = qp.H * r.z + qp.g;
    if (p > 0) stat += qp.A.transpose() * r.y_eq;
    if (m > 0) stat += qp.C.transpose() * r.y_ineq;
    allowance += stat.cwiseAbs().dot((zc - r.z).cwiseAbs());
    // Neither point is known better than to round-off of its size (eps max|z| in EVERY
    // component: z2* = -3.5e-18 next to z1* = 0.094), and f moves by |grad f| times that:
    // with a huge g this dominates.
    const double grad_l1 = (qp.H * r.z + qp.g).cwiseAbs().sum();
    allowance += 8 * std::numeric_limits<double>::epsilon() * grad_l1 *
                 (r.z.cwiseAbs().maxCoeff() + zc.cwiseAbs().maxCoeff());
  }
  for (Eigen::Index k = 0; k < p; ++k) {
    const double res = qp.A.row(k).dot(zc) - qp.b(k);
    if (std::abs(res) > kTol * row_scale(qp.A.row(k), zc, qp.b(k))) return;  // not feasible
    allowance += std::abs(r.y_eq(k) * res);
  }
  for (Eigen::Index i = 0; i < m; ++i) {
    if (qp.is_soft(i)) continue;
    const double viol = qp.C.row(i).dot(zc) - qp.d(i);
    if (viol > kTol * row_scale(qp.C.row(i), zc, qp.d(i))) return;  // not feasible
    allowance += std::abs(r.y_ineq(i)) * std::max(0.0, viol);
  }
  const double f_opt = objective(qp, r.z), f_c = objective(qp, zc);
  const double scale = objective_scale(qp, r.z) + objective_scale(qp, zc);
  if (f_opt > f_c + allowance + kTol * scale)
    fail(stage,
         std::string("objective worse than the feasible point ") + which +
             fmt(": f(z*) = %.17g, f(zc) = %.17g, scale %.6g", f_opt, f_c, scale),
         qp, c, &r);
}

// Checks one solve's status against what the construction guarantees; returns true when
// the answer was certified optimal.
bool check_result(const char* stage, const Problem& qp, const Case& c, const Result& r) {
  switch (r.status) {
    case Status::optimal:
      check_kkt(stage, qp, c, r);
      ++counters.certified_optimal;
      return true;
    case Status::infeasible:
      if (c.planted) fail(stage, "infeasible, but z0 is feasible by construction", qp, c, &r);
      return false;
    case Status::invalid_input: fail(stage, "invalid_input on valid data: " + r.message, qp, c, &r);
    case Status::non_convex:
    case Status::singular_hessian:
      // H = L L' + shift I is PSD; it must be accepted when clearly positive definite.
      if (c.h_min_eig > 1e-8 * c.h_max_eig)
        fail(stage, fmt("H rejected although eig(H) in [%.6g, %.6g]", c.h_min_eig, c.h_max_eig), qp,
             c, &r);
      if (r.status == Status::non_convex && c.h_min_eig >= 0)
        fail(stage, "non_convex, although H is positive semidefinite", qp, c, &r);
      return false;
    case Status::max_iterations:
    case Status::inaccurate: return false;  // not certified; counted only
  }
  return false;
}

// ---- Sensitivity ------------------------------------------------------------------------

// dz/dtheta along (sg, sb, sd) vs the central difference of two cold re-solves, when the
// Sensitivity reports ok (strict complementarity, LICQ) and the row states are unchanged at
// theta +- h (then z is affine in theta on [-h, h] and the difference quotient is exact up
// to round-off).
// |A_ws|_inf |z|_inf / sigma_min(A_ws) for the working set of r (the equality rows and the
// active hard or soft rows that are not saturated): the factor by which the rows' round-off
// reaches z. 0 without rows; +inf for a rank-deficient working set (the sensitivity then
// reports it instead of a derivative).
double working_set_amplification(const Problem& qp, const Result& r) {
  std::vector<Eigen::Index> active;
  for (Eigen::Index i = 0; i < qp.C.rows(); ++i)
    if (r.row_state(i) == rmpc::qp::active) active.push_back(i);
  const Eigen::Index rows = qp.A.rows() + Eigen::Index(active.size());
  if (rows == 0) return 0.0;
  Mat ws(rows, qp.H.rows());
  ws.topRows(qp.A.rows()) = qp.A;
  for (std::size_t k = 0; k < active.size(); ++k)
    ws.row(qp.A.rows() + Eigen::Index(k)) = qp.C.row(active[k]);
  const Eigen::JacobiSVD<Mat> svd(ws);
  const double sigma_min = svd.singularValues().minCoeff();
  if (!(sigma_min > 0)) return std::numeric_limits<double>::infinity();
  return ws.cwiseAbs().rowwise().sum().maxCoeff() * r.z.cwiseAbs().maxCoeff() / sigma_min;
}

void check_sensitivity(const Solver& solved, const Case& c) {
  const Problem& qp = solved.problem();
  rmpc::qp::ProblemDerivatives<double> dX;
  dX.num_parameters = 1;
  dX.dg = {c.sg};
  if (qp.b.size() > 0) dX.db = {c.sb};
  if (qp.d.size() > 0) dX.dd = {c.sd};
  rmpc::qp::SensitivitySettings<double> settings;
  settings.second_order = false;
  rmpc::qp::Sensitivity<double> sens;
  sens.compute(solved, dX, settings);
  if (sens.info() != rmpc::qp::SensitivityStatus::ok) return;
  ++counters.sens_ok;
  const Result& base = solved.result();
  const Vec dz = sens.dz_dtheta().col(0);
  if (!dz.allFinite()) fail("sensitivity", "dz/dtheta has NaN/Inf entries", qp, c, &base);
  // h: a relative 1e-3 change of z or of the data, whichever is smaller.
  const double z_scale = 1.0 + base.z.cwiseAbs().maxCoeff();
  const double data_scale =
      1.0 + std::max({qp.g.cwiseAbs().maxCoeff(), qp.b.size() ? qp.b.cwiseAbs().maxCoeff() : 0.0,
                      qp.d.size() ? qp.d.cwiseAbs().maxCoeff() : 0.0});
  const double dir_scale =
      std::max({c.sg.cwiseAbs().maxCoeff(), c.sb.size() ? c.sb.cwiseAbs().maxCoeff() : 0.0,
                c.sd.size() ? c.sd.cwiseAbs().maxCoeff() : 0.0});
  if (!(dir_scale > 0)) return;
  double h = 1e-3 * data_scale / dir_scale;
  const double dz_norm = dz.cwiseAbs().maxCoeff();
  if (dz_norm > 0) h = std::min(h, 1e-3 * z_scale / dz_norm);
  // theta + h s must differ from theta by much more than the rounding of the data (e.g. a
  // tiny H with a huge g: z may move by 1e-3 |z| for a change of g below ulp(g)); else the
  // difference quotient measures rounding, not the derivative.
  const double data_rounding = kEps * data_scale / (h * dir_scale);  // relative to the step
  if (data_rounding > 1e-9) {
    ++counters.sens_skipped_resolution;
    return;
  }
  Vec z_side[2];
  double z_error[2];  // forward-error estimate of each re-solve (see below)
  for (int side = 0; side < 2; ++side) {
    const double t = side == 0 ? h : -h;
    Solver s(solved.settings());
    Problem shifted = qp;
    shifted.g += t * c.sg;
    shifted.b += t * c.sb;
    shifted.d += t * c.sd;
    const Result& r = s.compute(shifted).solve();
    if (r.status != Status::optimal || r.row_state != base.row_state) {
      ++counters.sens_skipped_active_set;
      return;
    }
    z_side[side] = r.z;
    // A backward-stable solve leaves a stationarity residual of eps times the size of its
    // terms; H^-1 amplifies it by up to 1 / lambda_min(H) (tiny H: the null-space component
    // of z is pure rounding of g divided by 1e-12).
    const double terms =
        qp.H.cwiseAbs().rowwise().sum().maxCoeff() * r.z.cwiseAbs().maxCoeff() +
        shifted.g.cwiseAbs().maxCoeff() +
        (qp.b.size() ? qp.A.cwiseAbs().colwise().sum().maxCoeff() * r.y_eq.cwiseAbs().maxCoeff()
                     : 0.0) +
        (qp.d.size() ? qp.C.cwiseAbs().colwise().sum().maxCoeff() * r.y_ineq.cwiseAbs().maxCoeff()
                     : 0.0);
    z_error[side] = kEps * terms / std::max(c.h_min_eig, std::numeric_limits<double>::min());
    // The working set's rows fix z in their span: the round-off of A_ws z, eps |A_ws| |z| per
    // row, moves z there by up to 1 / sigma_min(A_ws) times it (near-parallel rows at |z| ~
    // 1e17: a component of z off by 1e4 while normwise exact; known_failures history).
    z_error[side] += kEps * working_set_amplification(qp, r);
  }
  ++counters.sens_checked;
  const Vec fd = (z_side[0] - z_side[1]) / (2 * h);
  // Round-off of the two solves (z_error, with a factor 10 of slack) and of theta +- h s
  // itself (data_rounding, amplified by at most 1e3 more than along s), over the 2h.
  const double roundoff = 10 * (z_error[0] + z_error[1]) / (2 * h) + 1e3 * data_rounding * dz_norm;
  const double err = (fd - dz).cwiseAbs().maxCoeff();
  if (err > kTolSens * std::max(dz_norm, fd.cwiseAbs().maxCoeff()) + roundoff) {
    std::ostringstream o;
    o << "dz/dtheta mismatch: |fd - dz| = " << err << " (h = " << h << ", round-off allowance "
      << roundoff << ")\ndz = " << dz.transpose().format(kFmt)
      << "\nfd = " << fd.transpose().format(kFmt)
      << "\ndirection g: " << c.sg.transpose().format(kFmt)
      << "\ndirection b: " << c.sb.transpose().format(kFmt)
      << "\ndirection d: " << c.sd.transpose().format(kFmt);
    fail("sensitivity", o.str(), qp, c, &base);
  }
}

// ---- The test sequence ------------------------------------------------------------------

// Invalid data must be reported as invalid_input, and a rejected update must leave the
// solver ready with its previous data.
void run_invalid(const Case& c) {
  ++counters.invalid_mode;
  Solver solver;
  solver.compute(c.qp);
  if (!c.invalid_via_update) {
    if (solver.info() != Status::invalid_input)
      fail("invalid input",
           "compute() accepted invalid data (kind " + std::to_string(c.invalid_kind) +
               "): status " + rmpc::qp::to_string(solver.info()),
           c.qp, c, nullptr);
    const Result& r = solver.solve();
    if (r.status != Status::invalid_input)
      fail("invalid input",
           std::string("solve() after a rejected compute(): ") + rmpc::qp::to_string(r.status),
           c.qp, c, &r);
    return;
  }
  if (solver.state() != rmpc::qp::SolverState::ready) return;  // e.g. singular H: nothing to update
  solver.update_linear_terms(c.g_bad, c.b_bad, c.d_bad);
  if (solver.info() != Status::invalid_input)
    fail("invalid input", "update_linear_terms() accepted NaN/Inf", c.qp, c, nullptr);
  if (solver.state() != rmpc::qp::SolverState::ready)
    fail("invalid input", "a rejected update_linear_terms() changed the solver state", c.qp, c,
         nullptr);
  check_result("solve after rejected update", c.qp, c, solver.solve());
}

void run_valid(const Case& c) {
  Solver solver;
  solver.compute(c.qp);
  const Result& cold = solver.solve();
  ++counters.cold[int(cold.status)];
  if (c.planted) ++counters.planted;
  const bool cold_ok = check_result("cold solve", c.qp, c, cold);
  if (solver.state() != rmpc::qp::SolverState::ready) return;  // H rejected (already judged)
  if (cold_ok) {
    check_not_worse_than("cold solve", "z0", c.qp, c, cold, c.z0);
    check_not_worse_than("cold solve", "0", c.qp, c, cold, Vec::Zero(c.qp.g.size()));
    check_sensitivity(solver, c);
  }
  const Vec z_cold = cold.z;
  const RowStates guess = cold.row_state;

  // Warm solve after a small change of g and d (d only grows: z0 and z_cold stay feasible).
  Problem next = c.qp;
  next.g += c.dg;
  next.d += c.dd;
  solver.update_linear_terms(next.g, next.b, next.d);
  if (solver.info() != Status::optimal)
    fail("update", "update_linear_terms() rejected finite data", next, c, nullptr);
  const Result& warm = solver.solve(guess);
  ++counters.warm[int(warm.status)];
  if (!check_result("warm solve", next, c, warm)) return;
  check_not_worse_than("warm solve", "z0", next, c, warm, c.z0);
  if (cold_ok)
    check_not_worse_than("warm solve", "the previous cold solution", next, c, warm, z_cold);
  // A cold solve of the same data must not beat the warm answer (nor the reverse).
  const Vec z_warm = warm.z;
  Result warm_copy = warm;
  const Result& recold = solver.solve();
  if (recold.status == Status::optimal) {
    check_kkt("re-cold solve", next, c, recold);
    check_not_worse_than("warm solve", "the cold solution of the same data", next, c, warm_copy,
                         recold.z);
    check_not_worse_than("re-cold solve", "the warm solution of the same data", next, c, recold,
                         z_warm);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(print_counters);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ++counters.execs;
  if (size < 5) return 0;  // too short to choose sizes: nothing new to learn
  const Case c = decode(data, size);
  ++counters.decoded;
  if (c.invalid)
    run_invalid(c);
  else
    run_valid(c);
  return 0;
}
