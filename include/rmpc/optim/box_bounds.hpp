// Box bounds lower <= x <= upper on the optimizer's variables, honoured by every update rule
// (issue #11: a weight must not go negative, a back-off must stay a tightening):
//
// - fixed-rate rules (GD, QN, Adam): the step is projected, p = P(x + p) - x. For a linear
//   model the projected step of a descent step is again a descent step (g'(P(x - a g) - x)
//   <= 0 for any box), so the predicted decrease stays >= 0.
// - trust-region rules: bounded_step() solves the subproblem
//       min m(p) = g'p + p'Bp/2   s.t.  ||p|| <= Delta,  lower <= x + p <= upper
//   by an active-set path (the projected-search idea of More & Toraldo 1991, TRON): variables
//   at a bound whose gradient pushes outward are fixed; the subproblem is solved over the
//   free ones with the radius left; the step is cut back to the first bound it meets, that
//   variable is fixed there, and the next pass continues from the cut point with
//   g + B p. Each pass lowers m for a positive semidefinite B (the model is convex along the
//   cut ray and m <= 0 at its end), so the step is a descent step for the regularised
//   models of TR-QN, TR-Gauss-Newton and TR-BFGS; a pass that would raise m (indefinite B
//   without regularisation) is dropped. At most n passes of one subproblem each.
//
// Entries may be -inf / +inf (one-sided or free variables); empty vectors mean no bounds.
#pragma once

#include <rmpc/optim/status.hpp>
#include <rmpc/optim/subproblem.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::optim {

/// Dynamic-size vectors whatever the optimizer's N, so that "no bounds" is an empty vector.
template <typename Scalar = double>
struct BoxBounds {
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Vector lower;  ///< n entries (-inf: unbounded below) or empty (no bounds at all).
  Vector upper;  ///< n entries (+inf: unbounded above) or empty (no bounds at all).

  bool empty() const { return lower.size() == 0 && upper.size() == 0; }

  /// Programmer errors (std::invalid_argument naming `what`): sizes other than n (or both
  /// empty), NaN entries, lower > upper, lower = +inf or upper = -inf.
  void validate(Eigen::Index n, const std::string& what) const {
    if (empty()) return;
    if (lower.size() != n || upper.size() != n)
      throw std::invalid_argument(what + ": lower and upper must both have " + std::to_string(n) +
                                  " entries (or both be empty)");
    for (Eigen::Index i = 0; i < n; ++i) {
      if (std::isnan(lower(i)) || std::isnan(upper(i)) || !(lower(i) <= upper(i)) ||
          lower(i) == std::numeric_limits<Scalar>::infinity() ||
          upper(i) == -std::numeric_limits<Scalar>::infinity())
        throw std::invalid_argument(what + ": entry " + std::to_string(i) +
                                    " needs lower <= upper, no NaN, lower < +inf, upper > -inf");
    }
  }

  /// x := P(x), the nearest point of the box (no-op without bounds).
  void clamp(Eigen::Ref<Vector> x) const {
    if (empty()) return;
    x = x.cwiseMax(lower).cwiseMin(upper);
  }

  /// g with the entries that push out of the box at an active bound set to zero: the
  /// gradient of a stationarity test under bounds (= g without bounds).
  template <typename V>
  V projected_gradient(const V& x, const V& g) const {
    V pg = g;
    if (empty()) return pg;
    for (Eigen::Index i = 0; i < x.size(); ++i)
      if ((x(i) <= lower(i) && g(i) > Scalar(0)) || (x(i) >= upper(i) && g(i) < Scalar(0)))
        pg(i) = Scalar(0);
    return pg;
  }

  /// True when x lies in the box (always true without bounds).
  bool contains(const Eigen::Ref<const Vector>& x) const {
    if (empty()) return true;
    return (x.array() >= lower.array()).all() && (x.array() <= upper.array()).all();
  }

  /// p := P(x + p) - x, the projection of the step onto the box at x (no-op without bounds).
  /// x + p can miss a bound by round-off: form the new point with clamp().
  void project_step(const Eigen::Ref<const Vector>& x, Eigen::Ref<Vector> p) const {
    if (empty()) return;
    for (Eigen::Index i = 0; i < x.size(); ++i)
      p(i) = std::clamp(x(i) + p(i), lower(i), upper(i)) - x(i);
  }
};

/// Result of bounded_step(); predicted_decrease = -(g'p + p'Bp/2).
template <typename Scalar, int N = Eigen::Dynamic>
struct BoundedStep {
  Eigen::Matrix<Scalar, N, 1> step;
  Scalar predicted_decrease = 0;
  bool on_boundary = false;  ///< the last subproblem ended on the trust-region boundary.
  int passes = 0;            ///< subproblems solved (0: every variable was blocked).
  bool finite = true;        ///< false: a subproblem returned NaN/Inf (caller: numerical_overflow).
};

/// The bounded trust-region step of the file comment. Solver: ExactSubproblem or SteihaugCg
/// on Eigen::Dynamic sizes (compute(B), solve(g, Delta) -> SubproblemResult). x must lie in
/// the box; B is the model Hessian (symmetric).
template <typename Scalar, int N, typename Solver>
BoundedStep<Scalar, N> bounded_step(const BoxBounds<Scalar>& box,
                                    const Eigen::Matrix<Scalar, N, 1>& x,
                                    const Eigen::Matrix<Scalar, N, 1>& g,
                                    const Eigen::Matrix<Scalar, N, N>& B, Scalar radius,
                                    Solver& solver) {
  using VectorX = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using MatrixX = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index n = x.size();
  BoundedStep<Scalar, N> out;
  out.step.setZero(n);
  auto& p = out.step;
  const auto model = [&](const Eigen::Matrix<Scalar, N, 1>& q) {
    return g.dot(q) + Scalar(0.5) * q.dot(B * q);
  };
  std::vector<char> fixed(static_cast<std::size_t>(n), 0);
  // A variable at a bound whose model gradient points out of the box cannot move.
  for (Eigen::Index i = 0; i < n; ++i)
    fixed[std::size_t(i)] =
        (x(i) <= box.lower(i) && g(i) > Scalar(0)) || (x(i) >= box.upper(i) && g(i) < Scalar(0));
  Scalar m = 0;
  std::vector<Eigen::Index> free;
  for (int pass = 0; pass < int(n); ++pass) {
    free.clear();
    for (Eigen::Index i = 0; i < n; ++i)
      if (!fixed[std::size_t(i)]) free.push_back(i);
    // The free part q of the step solves the subproblem with the fixed part in place (its
    // gradient g + B p_fixed, the radius left by ||p_fixed||); the pass then moves the free
    // part from its current value toward q, cut at the first bound. The segment lies in the
    // ball (convex) and ends no higher on the model than it starts (q is the ball's minimiser).
    Eigen::Matrix<Scalar, N, 1> p_fixed = p;
    for (Eigen::Index i : free) p_fixed(i) = Scalar(0);
    const Scalar left2 = radius * radius - p_fixed.squaredNorm();
    if (free.empty() || !(left2 > Scalar(0))) break;
    const Eigen::Index k = Eigen::Index(free.size());
    const Eigen::Matrix<Scalar, N, 1> gp = g + B * p_fixed;
    VectorX gf(k);
    MatrixX bf(k, k);
    for (Eigen::Index a = 0; a < k; ++a) {
      gf(a) = gp(free[std::size_t(a)]);
      for (Eigen::Index b = 0; b < k; ++b) bf(a, b) = B(free[std::size_t(a)], free[std::size_t(b)]);
    }
    const auto sub = solver.compute(bf).solve(gf, std::sqrt(left2));
    ++out.passes;
    if (sub.status == SubproblemStatus::non_finite || !sub.step.allFinite()) {
      out.finite = false;
      break;
    }
    VectorX d(k);  // from the current free part to the subproblem's minimiser
    for (Eigen::Index a = 0; a < k; ++a) d(a) = sub.step(a) - p(free[std::size_t(a)]);
    // Largest alpha in [0, 1] keeping x + p + alpha d in the box; the first bound met.
    Scalar alpha = 1;
    Eigen::Index blocking = -1;
    Scalar blocking_bound = 0;
    for (Eigen::Index a = 0; a < k; ++a) {
      const Eigen::Index i = free[std::size_t(a)];
      const Scalar room = d(a) > 0 ? box.upper(i) - (x(i) + p(i)) : box.lower(i) - (x(i) + p(i));
      if (d(a) != Scalar(0) && room / d(a) < alpha) {
        alpha = std::max(Scalar(0), room / d(a));
        blocking = i;
        blocking_bound = d(a) > 0 ? box.upper(i) : box.lower(i);
      }
    }
    Eigen::Matrix<Scalar, N, 1> trial = p;
    for (Eigen::Index a = 0; a < k; ++a) trial(free[std::size_t(a)]) += alpha * d(a);
    if (blocking >= 0) trial(blocking) = blocking_bound - x(blocking);  // exactly on the bound
    const Scalar m_trial = model(trial);
    if (!(m_trial <= m)) break;  // this pass would raise the model (indefinite B): keep p
    p = trial;
    m = m_trial;
    out.on_boundary = blocking < 0 && sub.on_boundary();
    if (blocking < 0) break;  // the free subproblem's step fits in the box: done
    fixed[std::size_t(blocking)] = 1;
  }
  out.predicted_decrease = -m;
  return out;
}

}  // namespace rmpc::optim
