// DenseSolver: compute(), update_linear_terms(), solve() and their argument and data checks.
// Out-of-class definitions of rmpc/qp/dense_solver.hpp, included only from there.
#pragma once

namespace rmpc::qp {

namespace detail {

/// Whether every entry is finite, as one vectorized sum: x * 0 is (+-)0 for a finite x and NaN
/// for NaN or +-Inf, and a sum with a NaN term is NaN. Eigen's allFinite() compares x - x
/// with itself entry by entry, unvectorized: 5 % of a small cold solve's time was that check.
template <typename Derived>
bool all_finite(const Eigen::DenseBase<Derived>& x) {
  using Scalar = typename Derived::Scalar;
  return x.size() == 0 || (x.derived().array() * Scalar(0)).sum() == Scalar(0);
}

}  // namespace detail

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::compute(const ProblemType& problem) -> DenseSolver& {
  settings_.validate();  // settings() is mutable between calls: checked where they are used
  check_sizes(problem);  // before any state changes: a throw leaves the solver as it was
  factor_valid_ = false;
  redundant_equalities_ = 0;
  result_.iterations = 0;
  if (settings_.check_input && !check_problem(problem)) return reject();
  problem_ = problem;
  allocate();
  // Factor H / 4^k with 4^k near max|H_ij|: power-of-two scaling is exact, and the
  // factorization can neither overflow nor underflow for any finite H.
  const Scalar h_max = problem_.H.cwiseAbs().maxCoeff();
  int k = 0;
  if (h_max > Scalar(0) && std::isfinite(h_max)) k = std::ilogb(h_max) / 2;
  h_shift_ = std::ldexp(Scalar(1), k);
  llt_.compute(problem_.H * std::ldexp(Scalar(1), -2 * k));
  const Scalar h_scale =
      problem_.H.diagonal().cwiseAbs().maxCoeff() * std::ldexp(Scalar(1), -2 * k);
  if (llt_.info() != Eigen::Success || !llt_.matrixLLT().allFinite() ||
      !(llt_.matrixLLT().diagonal().minCoeff() >
        std::sqrt(Scalar(n()) * std::numeric_limits<Scalar>::epsilon() *
                  (h_scale > 0 ? h_scale : Scalar(1))))) {
    classify_hessian(k);
    return reject();
  }
  ws_.set_hessian_factor(llt_.matrixLLT(), h_shift_);
  // Round-off in a rotated normal J'n is eps |J_j| |n| per component, and a working set's J
  // is J0 = L^{-T} times an orthogonal Q: dependency tests compare |J2'n| with |n| times the
  // largest column norm of J0 (between |J0|_2 / sqrt(n) and |J0|_2 = 1 / sqrt(lambda_min(H))).
  // A scale from the LARGEST eigenvalue instead let round-off pass for independence: on the
  // anchor QPs (cond(H) = 199) a bound exactly in the span of 18 working-set rows showed
  // |J2'n| = 1.7e-13 |J'n| and entered, the working set turned singular and an infeasible
  // problem ended `inaccurate` instead of `infeasible`.
  j_scale_ = ws_.factor().J0().colwise().norm().maxCoeff();
  rows_.analyze(problem_.C);
  num_soft_ = (problem_.soft_weight.array() < std::numeric_limits<Scalar>::infinity()).count();
  for (Eigen::Index i = 0; i < m(); ++i) row_norm_(i) = problem_.C.row(i).norm();
  for (Eigen::Index k2 = 0; k2 < p(); ++k2) eq_norm_(k2) = detail::row(problem_.A, k2).norm();
  h_norm_ = problem_.H.cwiseAbs().rowwise().sum().maxCoeff();
  solver_state_ = SolverState::ready;
  result_.status = Status::optimal;
  result_.message.clear();
  return *this;
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::linear_sizes_fit(Eigen::Index g, Eigen::Index b,
                                                    Eigen::Index d) {
  result_.iterations = 0;
  if (solver_state_ != SolverState::ready) {
    not_ready("update_linear_terms()");
    return false;
  }
  if (g != n() || b != p() || d != m())
    throw std::invalid_argument("DenseSolver::update_linear_terms: g, b, d have " +
                                std::to_string(g) + ", " + std::to_string(b) + ", " +
                                std::to_string(d) +
                                " entries, expected n = " + std::to_string(n()) +
                                ", p = " + std::to_string(p()) + ", m = " + std::to_string(m()));
  return true;
}

// After linear_sizes_fit: the sizes are right, so the conversion to VectorN etc. is exact.
template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::accept_linear_terms(const Eigen::Ref<const VectorN>& g,
                                                       const Eigen::Ref<const VectorP>& b,
                                                       const Eigen::Ref<const VectorM>& d)
    -> DenseSolver& {
  if (settings_.check_input &&
      !(detail::all_finite(g) && detail::all_finite(b) && detail::all_finite(d))) {
    result_.status = Status::invalid_input;
    result_.message = !g.allFinite()   ? "g has NaN/Inf entries"
                      : !b.allFinite() ? "b has NaN/Inf entries"
                                       : "d has NaN/Inf entries";
    return *this;
  }
  problem_.g = g;
  problem_.b = b;
  problem_.d = d;
  result_.status = Status::optimal;
  result_.message.clear();
  return *this;
}

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::solve(const RowStates& warm_start) -> const ResultType& {
  if (solver_state_ != SolverState::ready) return not_ready("solve()");
  if (warm_start.size() != m())
    throw std::invalid_argument("DenseSolver::solve: warm_start has " +
                                std::to_string(warm_start.size()) +
                                " entries, expected m = " + std::to_string(m()));
  guess_ = warm_start;
  return run(true);
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::allocate() {
  const Eigen::Index nn = n(), mm = m(), pp = p();
  if (ws_.dim() != nn) ws_.resize(nn);
  z_.resize(nn);
  g_eff_.resize(nn);
  step_d_.resize(nn);
  step_s_.resize(nn);
  normal_.resize(nn);
  residual_x_.resize(nn);
  hz_.resize(nn);
  lambda_.resize(nn);
  dual_r_.resize(nn);
  kkt_rhs_.resize(nn);
  residual_l_.resize(nn);
  correction_l_.resize(nn);
  row_norm_.resize(mm);
  eq_norm_.resize(pp);
  cz_.resize(mm);
  excess_.resize(mm);
  state_.resize(mm);
  guess_.resize(mm);
  skip_.setZero(mm);
  any_skip_ = false;
  result_.z.resize(nn);
  result_.y_eq.resize(pp);
  result_.y_ineq.resize(mm);
  result_.row_state.resize(mm);
}

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::not_ready(const char* what) -> const ResultType& {
  result_.iterations = 0;
  if (solver_state_ == SolverState::failed) {
    result_.status = failure_status_;
    result_.message = std::string(what) +
                      ": no problem to solve, the last compute() was rejected: " + failure_message_;
  } else {
    throw std::logic_error("DenseSolver::" + std::string(what) + " called before compute()");
  }
  return result_;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::check_sizes(const ProblemType& q) {
  const Eigen::Index nn = q.H.rows();
  if (q.H.cols() != nn)
    size_error("H must be square, got " + std::to_string(q.H.rows()) + "x" +
               std::to_string(q.H.cols()));
  if (q.g.size() != nn)
    size_error("g has " + std::to_string(q.g.size()) +
               " entries, expected n = " + std::to_string(nn));
  if (q.A.cols() != nn)
    size_error("A has " + std::to_string(q.A.cols()) +
               " columns, expected n = " + std::to_string(nn));
  if (q.b.size() != q.A.rows())
    size_error("b has " + std::to_string(q.b.size()) +
               " entries, expected p = rows(A) = " + std::to_string(q.A.rows()));
  if (q.C.cols() != nn)
    size_error("C has " + std::to_string(q.C.cols()) +
               " columns, expected n = " + std::to_string(nn));
  if (q.d.size() != q.C.rows())
    size_error("d has " + std::to_string(q.d.size()) +
               " entries, expected m = rows(C) = " + std::to_string(q.C.rows()));
  if (q.soft_weight.size() != q.C.rows())
    size_error("soft_weight has " + std::to_string(q.soft_weight.size()) +
               " entries, expected m = rows(C) = " + std::to_string(q.C.rows()));
  if (nn == 0) size_error("the problem has no variables (n = 0)");
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::check_problem(const ProblemType& q) {
  const Eigen::Index nn = q.H.rows();
  if (!q.H.allFinite()) return fail_input("H has NaN/Inf entries");
  if (!q.g.allFinite()) return fail_input("g has NaN/Inf entries");
  if (!q.A.allFinite()) return fail_input("A has NaN/Inf entries");
  if (!q.b.allFinite()) return fail_input("b has NaN/Inf entries");
  if (!q.C.allFinite()) return fail_input("C has NaN/Inf entries");
  if (!q.d.allFinite()) return fail_input("d has NaN/Inf entries");
  for (Eigen::Index i = 0; i < q.soft_weight.size(); ++i)
    if (!(q.soft_weight(i) > 0))
      return fail_input("soft_weight(" + std::to_string(i) +
                        ") must be > 0 (or +inf for a hard row)");
  // Relative to |H| (no absolute floor): a scaled H is as symmetric.
  const Scalar h_max = q.H.cwiseAbs().maxCoeff();
  for (Eigen::Index j = 0; j < nn; ++j)
    for (Eigen::Index i = j + 1; i < nn; ++i)
      if (std::abs(q.H(i, j) - q.H(j, i)) > Scalar(1e3) * eps() * h_max)
        return fail_input("H is not symmetric");
  return true;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::classify_hessian(int k) {
  rmpc::detail::SymmetricEigen<Scalar, N> es;
  es.compute(problem_.H * std::ldexp(Scalar(1), -2 * k), false);
  const Scalar unscale = std::ldexp(Scalar(1), 2 * k);
  if (es.info() != Eigen::Success || !es.eigenvalues().allFinite()) {
    result_.status = Status::invalid_input;
    result_.message =
        "H could not be factorized: Cholesky and the eigenvalue decomposition both failed (largest "
        "entry " +
        fmt(problem_.H.cwiseAbs().maxCoeff()) + ")";
    return;
  }
  const Scalar lmin = es.eigenvalues().minCoeff(), lmax = es.eigenvalues().cwiseAbs().maxCoeff();
  if (lmin < -Scalar(64) * Scalar(n()) * eps() * lmax) {
    result_.status = Status::non_convex;
    result_.message =
        "H is not positive semidefinite (smallest eigenvalue " + fmt(lmin * unscale) + ")";
  } else {
    result_.status = Status::singular_hessian;
    result_.message =
        "H is positive semidefinite but singular to working precision (eigenvalues in [" +
        fmt(lmin * unscale) + ", " + fmt(lmax * unscale) +
        "]): the QP is convex, but the dual active-set method needs a positive definite H";
  }
}

}  // namespace rmpc::qp
