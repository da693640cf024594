// TwoSidedSolver: the one-sided row layout, the side checks and the map of the answer back to
// bounds and two-sided rows. Out-of-class definitions of rmpc/qp/two_sided.hpp, included only
// from there.
#pragma once

#include <algorithm>

namespace rmpc::qp {

template <typename Scalar, int N, int P>
auto TwoSidedSolver<Scalar, N, P>::compute(const ProblemType& q) -> TwoSidedSolver& {
  // Every size, and the settings DenseSolver::compute() would reject, are checked before
  // anything changes: a throw leaves the solver as it was.
  solver_.settings().validate();
  const Eigen::Index n = q.H.rows(), p = q.A.rows(), m = q.C.rows();
  const auto size_error = [&](const char* what, Eigen::Index got, const char* expected,
                              Eigen::Index want) {
    throw std::invalid_argument("TwoSidedSolver::compute: " + std::string(what) + " has " +
                                std::to_string(got) + " entries, expected " + expected + " = " +
                                std::to_string(want));
  };
  if (n == 0) throw std::invalid_argument("TwoSidedSolver::compute: no variables (n = 0)");
  if (q.H.cols() != n) size_error("H (columns)", q.H.cols(), "n = H.rows()", n);
  if (q.g.size() != n) size_error("g", q.g.size(), "n", n);
  if (q.A.cols() != n) size_error("A (columns)", q.A.cols(), "n", n);
  if (q.b.size() != p) size_error("b", q.b.size(), "p = A.rows()", p);
  if (q.lb.size() != n) size_error("lb", q.lb.size(), "n", n);
  if (q.ub.size() != n) size_error("ub", q.ub.size(), "n", n);
  if (q.bound_soft_weight.size() != n)
    size_error("bound_soft_weight", q.bound_soft_weight.size(), "n", n);
  if (q.C.cols() != n) size_error("C (columns)", q.C.cols(), "n", n);
  if (q.l.size() != m) size_error("l", q.l.size(), "m = C.rows()", m);
  if (q.u.size() != m) size_error("u", q.u.size(), "m = C.rows()", m);
  if (q.soft_weight.size() != m) size_error("soft_weight", q.soft_weight.size(), "m", m);

  // The layout: upper bounds, lower bounds, upper sides, lower sides (finite ones only).
  Eigen::Index rows = 0;
  const auto place = [&rows](Scalar side) { return std::isfinite(side) ? rows++ : -1; };
  lb_row_.resize(n);
  ub_row_.resize(n);
  l_row_.resize(m);
  u_row_.resize(m);
  for (Eigen::Index j = 0; j < n; ++j) ub_row_(j) = place(q.ub(j));
  for (Eigen::Index j = 0; j < n; ++j) lb_row_(j) = place(q.lb(j));
  for (Eigen::Index i = 0; i < m; ++i) u_row_(i) = place(q.u(i));
  for (Eigen::Index i = 0; i < m; ++i) l_row_(i) = place(q.l(i));
  d_.resize(rows);
  guess_.setZero(rows);
  result_.bound_state.assign(std::size_t(n), SideState::inactive);
  result_.row_state.assign(std::size_t(m), SideState::inactive);
  result_.y_bound.setZero(n);
  result_.y_row.setZero(m);
  computed_ = true;
  update_rejected_ = false;

  // Checked here, not by DenseSolver, so that a message names the user's bound or row (not a
  // one-sided row) and data on absent sides are checked too.
  std::string bad = write_sides(q.lb, q.ub, q.l, q.u);
  const auto weight_ok = [](Scalar w) { return w > Scalar(0); };  // false for NaN
  for (Eigen::Index j = 0; j < n && bad.empty(); ++j)
    if (!weight_ok(q.bound_soft_weight(j)))
      bad = "bound_soft_weight(" + std::to_string(j) + ") must be > 0 (+inf: hard)";
  for (Eigen::Index i = 0; i < m && bad.empty(); ++i)
    if (!weight_ok(q.soft_weight(i)))
      bad = "soft_weight(" + std::to_string(i) + ") must be > 0 (+inf: hard)";
  if (bad.empty() && !detail::all_finite(q.C)) bad = "C has NaN or Inf entries";
  rejected_ = !bad.empty();
  if (rejected_) {
    result_.status = Status::invalid_input;
    result_.message = "TwoSidedSolver::compute: " + bad;
    return *this;
  }

  one_sided_.resize(n, p, rows);
  one_sided_.H = q.H;
  one_sided_.g = q.g;
  one_sided_.A = q.A;
  one_sided_.b = q.b;
  for (Eigen::Index j = 0; j < n; ++j) {
    if (ub_row_(j) >= 0) {
      one_sided_.C(ub_row_(j), j) = Scalar(1);
      one_sided_.soft_weight(ub_row_(j)) = q.bound_soft_weight(j);
    }
    if (lb_row_(j) >= 0) {
      one_sided_.C(lb_row_(j), j) = Scalar(-1);
      one_sided_.soft_weight(lb_row_(j)) = q.bound_soft_weight(j);
    }
  }
  for (Eigen::Index i = 0; i < m; ++i) {
    if (u_row_(i) >= 0) {
      one_sided_.C.row(u_row_(i)) = q.C.row(i);
      one_sided_.soft_weight(u_row_(i)) = q.soft_weight(i);
    }
    if (l_row_(i) >= 0) {
      one_sided_.C.row(l_row_(i)) = -q.C.row(i);
      one_sided_.soft_weight(l_row_(i)) = q.soft_weight(i);
    }
  }
  one_sided_.d = d_;
  solver_.compute(one_sided_);
  result_.status = solver_.info();
  result_.message = solver_.result().message;
  return *this;
}

template <typename Scalar, int N, int P>
void TwoSidedSolver<Scalar, N, P>::check_linear_sizes(Eigen::Index g, Eigen::Index b,
                                                      Eigen::Index lb, Eigen::Index ub,
                                                      Eigen::Index l, Eigen::Index u) const {
  if (!computed_)
    throw std::logic_error("TwoSidedSolver::update_linear_terms: call compute() first");
  const Eigen::Index p = solver_.problem().A.rows();
  if (g != n() || b != p)
    throw std::invalid_argument("TwoSidedSolver::update_linear_terms: g, b have " +
                                std::to_string(g) + ", " + std::to_string(b) +
                                " entries, expected n = " + std::to_string(n()) +
                                ", p = " + std::to_string(p));
  if (lb != n() || ub != n() || l != m() || u != m())
    throw std::invalid_argument(
        "TwoSidedSolver::update_linear_terms: lb, ub have " + std::to_string(lb) + ", " +
        std::to_string(ub) + " entries (n = " + std::to_string(n()) + "), l, u " +
        std::to_string(l) + ", " + std::to_string(u) + " (m = " + std::to_string(m()) + ")");
}

// After check_linear_sizes: the sizes are right, so the conversion to VectorN etc. is exact.
template <typename Scalar, int N, int P>
auto TwoSidedSolver<Scalar, N, P>::accept_linear_terms(const Eigen::Ref<const VectorN>& g,
                                                       const Eigen::Ref<const VectorP>& b,
                                                       const Eigen::Ref<const VectorN>& lb,
                                                       const Eigen::Ref<const VectorN>& ub,
                                                       const Eigen::Ref<const VectorX>& l,
                                                       const Eigen::Ref<const VectorX>& u)
    -> TwoSidedSolver& {
  if (rejected_) return *this;  // nothing to solve until a compute() succeeds
  // NaN is not a change of layout: write_sides reports it as invalid_input.
  const auto moved = [](Scalar v, Eigen::Index row) {
    return !std::isnan(v) && std::isinf(v) != (row < 0);
  };
  for (Eigen::Index j = 0; j < n(); ++j)
    if (moved(lb(j), lb_row_(j)) || moved(ub(j), ub_row_(j)))
      throw std::invalid_argument("TwoSidedSolver::update_linear_terms: bound " +
                                  std::to_string(j) +
                                  " changed between finite and infinite: call compute()");
  for (Eigen::Index i = 0; i < m(); ++i)
    if (moved(l(i), l_row_(i)) || moved(u(i), u_row_(i)))
      throw std::invalid_argument("TwoSidedSolver::update_linear_terms: row " + std::to_string(i) +
                                  " changed between finite and infinite: call compute()");
  const std::string bad = write_sides(lb, ub, l, u);
  if (!bad.empty()) {  // the data of the last accepted call stay, as in DenseSolver
    update_rejected_ = true;
    result_.status = Status::invalid_input;
    result_.message = "TwoSidedSolver::update_linear_terms: " + bad;
    return *this;
  }
  update_rejected_ = false;
  solver_.update_linear_terms(g, b, d_);
  result_.status = solver_.info();
  result_.message = solver_.result().message;
  return *this;
}

template <typename Scalar, int N, int P>
std::string TwoSidedSolver<Scalar, N, P>::write_sides(const Eigen::Ref<const VectorN>& lb,
                                                      const Eigen::Ref<const VectorN>& ub,
                                                      const Eigen::Ref<const VectorX>& l,
                                                      const Eigen::Ref<const VectorX>& u) {
  // Checked before anything is written: a rejected call leaves d_ as it was.
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  const auto bad = [](const char* name, Eigen::Index k, Scalar v) {
    return std::string(name) + "(" + std::to_string(k) + ") is " +
           (std::isnan(v) ? "NaN"
            : v > 0       ? "+inf"
                          : "-inf");
  };
  for (Eigen::Index j = 0; j < n(); ++j) {
    if (std::isnan(lb(j)) || lb(j) == inf) return bad("lb", j, lb(j));
    if (std::isnan(ub(j)) || ub(j) == -inf) return bad("ub", j, ub(j));
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (std::isnan(l(i)) || l(i) == inf) return bad("l", i, l(i));
    if (std::isnan(u(i)) || u(i) == -inf) return bad("u", i, u(i));
  }
  for (Eigen::Index j = 0; j < n(); ++j) {
    if (ub_row_(j) >= 0) d_(ub_row_(j)) = ub(j);
    if (lb_row_(j) >= 0) d_(lb_row_(j)) = -lb(j);
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (u_row_(i) >= 0) d_(u_row_(i)) = u(i);
    if (l_row_(i) >= 0) d_(l_row_(i)) = -l(i);
  }
  return {};
}

template <typename Scalar, int N, int P>
auto TwoSidedSolver<Scalar, N, P>::solve() -> const ResultType& {
  if (rejected_) return result_;
  update_rejected_ = false;
  return map(solver_.solve());
}

template <typename Scalar, int N, int P>
auto TwoSidedSolver<Scalar, N, P>::solve(const std::vector<SideState>& bound_state,
                                         const std::vector<SideState>& row_state)
    -> const ResultType& {
  require_computed("solve(bound_state, row_state)");
  if (Eigen::Index(bound_state.size()) != n() || Eigen::Index(row_state.size()) != m())
    throw std::invalid_argument(
        "TwoSidedSolver::solve: bound_state and row_state need n = " + std::to_string(n()) +
        " and m = " + std::to_string(m()) + " entries");
  if (rejected_) return result_;
  update_rejected_ = false;
  const auto guess = [this](Eigen::Index row, SideState s, SideState met, SideState violated) {
    if (row >= 0)
      guess_(row) = s == met        ? std::int8_t(RowState::active)
                    : s == violated ? std::int8_t(RowState::saturated)
                                    : std::int8_t(RowState::inactive);
  };
  for (Eigen::Index j = 0; j < n(); ++j) {
    const SideState s = bound_state[std::size_t(j)];
    guess(ub_row_(j), s, SideState::upper, SideState::above_upper);
    guess(lb_row_(j), s, SideState::lower, SideState::below_lower);
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    const SideState s = row_state[std::size_t(i)];
    guess(u_row_(i), s, SideState::upper, SideState::above_upper);
    guess(l_row_(i), s, SideState::lower, SideState::below_lower);
  }
  return map(solver_.solve(guess_));
}

template <typename Scalar, int N, int P>
auto TwoSidedSolver<Scalar, N, P>::map(const typename OneSidedSolver::ResultType& r)
    -> const ResultType& {
  result_.status = r.status;
  result_.message = r.message;
  result_.iterations = r.iterations;
  result_.objective = r.objective;
  result_.z = r.z;
  result_.y_eq = r.y_eq;
  if (solver_.state() != SolverState::ready) {  // nothing solved: no answer of an earlier one
    result_.y_bound.setZero();
    result_.y_row.setZero();
    std::fill(result_.bound_state.begin(), result_.bound_state.end(), SideState::inactive);
    std::fill(result_.row_state.begin(), result_.row_state.end(), SideState::inactive);
    return result_;
  }
  const auto side = [&r](Eigen::Index row, Scalar& y, std::int8_t& state) {
    y = row >= 0 ? r.y_ineq(row) : Scalar(0);
    state = row >= 0 ? r.row_state(row) : std::int8_t(RowState::inactive);
  };
  Scalar y_up, y_lo;
  std::int8_t s_up, s_lo;
  for (Eigen::Index j = 0; j < n(); ++j) {
    side(ub_row_(j), y_up, s_up);
    side(lb_row_(j), y_lo, s_lo);
    result_.y_bound(j) = y_up - y_lo;
    result_.bound_state[std::size_t(j)] = state_of(s_up, s_lo, y_up - y_lo);
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    side(u_row_(i), y_up, s_up);
    side(l_row_(i), y_lo, s_lo);
    result_.y_row(i) = y_up - y_lo;
    result_.row_state[std::size_t(i)] = state_of(s_up, s_lo, y_up - y_lo);
  }
  return result_;
}

template <typename Scalar, int N, int P>
SideState TwoSidedSolver<Scalar, N, P>::state_of(std::int8_t upper, std::int8_t lower, Scalar y) {
  const bool up = upper != RowState::inactive, lo = lower != RowState::inactive;
  // Both sides in play: l = u (or lb = ub), where the soft pair can hold one side active and
  // the other saturated at C z = l = u; the net multiplier's sign tells which side holds.
  if (up && lo) return y >= Scalar(0) ? SideState::upper : SideState::lower;
  if (up) return upper == RowState::active ? SideState::upper : SideState::above_upper;
  if (lo) return lower == RowState::active ? SideState::lower : SideState::below_lower;
  return SideState::inactive;
}

template <typename Scalar, int N, int P>
void TwoSidedSolver<Scalar, N, P>::expand_rhs(const Eigen::Ref<const VectorX>& dlb,
                                              const Eigen::Ref<const VectorX>& dub,
                                              const Eigen::Ref<const VectorX>& dl,
                                              const Eigen::Ref<const VectorX>& du,
                                              VectorX& dd) const {
  require_computed("expand_rhs");
  check_derivative("dlb", dlb.size(), n());
  check_derivative("dub", dub.size(), n());
  check_derivative("dl", dl.size(), m());
  check_derivative("du", du.size(), m());
  dd.setZero(guess_.size());
  for (Eigen::Index j = 0; j < n(); ++j) {
    if (ub_row_(j) >= 0 && dub.size() > 0) dd(ub_row_(j)) = dub(j);
    if (lb_row_(j) >= 0 && dlb.size() > 0) dd(lb_row_(j)) = -dlb(j);
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (u_row_(i) >= 0 && du.size() > 0) dd(u_row_(i)) = du(i);
    if (l_row_(i) >= 0 && dl.size() > 0) dd(l_row_(i)) = -dl(i);
  }
}

template <typename Scalar, int N, int P>
void TwoSidedSolver<Scalar, N, P>::expand_rows(const Eigen::Ref<const MatrixX>& dC,
                                               MatrixX& dC_one_sided) const {
  require_computed("expand_rows");
  dC_one_sided.setZero(guess_.size(), n());
  if (dC.size() == 0) return;  // C does not depend on the parameter
  if (dC.rows() != m() || dC.cols() != n())
    throw std::invalid_argument("TwoSidedSolver::expand_rows: dC must be m x n = " +
                                std::to_string(m()) + " x " + std::to_string(n()) + " (or empty)");
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (u_row_(i) >= 0) dC_one_sided.row(u_row_(i)) = dC.row(i);
    if (l_row_(i) >= 0) dC_one_sided.row(l_row_(i)) = -dC.row(i);
  }
}

template <typename Scalar, int N, int P>
void TwoSidedSolver<Scalar, N, P>::expand_weights(const Eigen::Ref<const VectorX>& dw_bound,
                                                  const Eigen::Ref<const VectorX>& dw_row,
                                                  VectorX& dw) const {
  require_computed("expand_weights");
  check_derivative("dw_bound", dw_bound.size(), n());
  check_derivative("dw_row", dw_row.size(), m());
  dw.setZero(guess_.size());
  for (Eigen::Index j = 0; j < n() && dw_bound.size() > 0; ++j) {
    if (ub_row_(j) >= 0) dw(ub_row_(j)) = dw_bound(j);
    if (lb_row_(j) >= 0) dw(lb_row_(j)) = dw_bound(j);
  }
  for (Eigen::Index i = 0; i < m() && dw_row.size() > 0; ++i) {
    if (u_row_(i) >= 0) dw(u_row_(i)) = dw_row(i);
    if (l_row_(i) >= 0) dw(l_row_(i)) = dw_row(i);
  }
}

}  // namespace rmpc::qp
