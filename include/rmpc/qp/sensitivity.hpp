// First- and second-order sensitivities of a QP solution with respect to parameters theta,
// from the solver's own factorization (method.md section 3).
//
// At a solution with working set W (equality rows E, active inequality rows S) and saturated
// soft rows T, the KKT conditions F(w, theta) = 0 in w = (z, lambda_W) read
//     H z + g + N' lambda + sum_{k in T} w_k C_k' = 0,     N z = e,      N = [A_E; C_S], e = [b_E; d_S].
// Differentiating once and twice (K = [[H, N'], [N, 0]], subscripts are d/dtheta):
//     K w_i  = -(K_i w + f_i)                                       (1)
//     K w_ij = -(K_j w_i + K_i w_j + K_ij w + f_ij)                 (2)
// One factorization (the solver's J, R) serves all np + np(np+1)/2 right-hand sides. For a
// linear functional e'z, (2) collapses by one adjoint solve K [a; beta] = [e; 0]:
//     e'z_ij = [a; beta]' rhs_ij,  which needs only matrix-vector products per parameter.
// Inactive and saturated multipliers have zero derivatives.
//
// Degenerate active sets with dependent rows (method.md section 3 assumes LICQ). Hard rows at
// zero slack whose normals are dependent are resolved before the solve, so that a value is
// either the derivative of the right reduced system or not reported at all:
//  * an opposite-parallel pair C_j = -c C_i (c > 0) with both rows at zero slack (lb = ub,
//    an input pinned by equal bounds) is ONE equality row: one of the two is kept in (or
//    added to) the working set, its multiplier sign is free (not weakly active), the other is
//    flagged row_dependent. If the pair does not stay an equality to first order (its rhs
//    derivatives disagree), the status is licq_violated.
//  * a zero-slack row outside the working set whose normal lies in the span of the working
//    set (a duplicated row, an equality pinning a bound) is flagged row_dependent; it must keep
//    zero slack along every parameter (checked after the solve), else licq_violated.
//  * after the solve, the reported derivative must be a one-sided derivative in the + or -
//    direction of each parameter (weakly active rows stay feasible and their multipliers in
//    their box); if neither holds, licq_violated instead of a wrong value.
//
// Ownership. compute() reads `solved` and `dX` and keeps a pointer to `dX` that
// functional_hessian() reads later: dX must stay alive and unchanged until then. Binding a
// temporary ProblemDerivatives is a compile error (deleted rvalue overload). All sizes of dX
// are checked against the solved problem before anything is read (when the solve was not
// optimal nothing is read and only num_parameters is checked); a mismatch throws
// std::invalid_argument naming the argument (a programmer error, never a status).
#pragma once

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/derivatives.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace rmpc::qp {

enum class SensitivityStatus {
  ok,              ///< Strict complementarity and LICQ hold: the derivatives exist.
  weakly_active,   ///< A row has zero slack and a multiplier at a bound: one-sided derivatives.
  licq_violated,   ///< Active normals are linearly dependent (e.g. redundant equalities).
  singular_kkt,    ///< The working-set KKT matrix is numerically singular.
  not_solved,      ///< The QP was not solved to optimality; nothing was computed.
};

inline const char* to_string(SensitivityStatus s) {
  switch (s) {
    case SensitivityStatus::ok: return "ok";
    case SensitivityStatus::weakly_active: return "weakly_active";
    case SensitivityStatus::licq_violated: return "licq_violated";
    case SensitivityStatus::singular_kkt: return "singular_kkt";
    case SensitivityStatus::not_solved: return "not_solved";
  }
  return "unknown";
}

/// Which one-sided derivative to return at weakly active rows.
enum class WeakRowChoice {
  as_solved,    ///< The working set the solver ended with (default: matches the solution).
  keep_active,  ///< Weakly active rows held at equality (the branch where they stay active).
  drop,         ///< Weakly active rows released (the branch where they leave).
};

/// Per-row flags reported with the status.
enum RowFlag : std::int8_t { row_regular = 0, row_weakly_active = 1, row_dependent = 2 };

template <typename Scalar>
struct SensitivitySettings {
  /// d2z/dtheta2 for all pairs (np(np+1)/2 back-solves); off when only functionals are needed.
  bool second_order = true;
  /// Also return d2(lambda)/dtheta2 of the working-set multipliers.
  bool multiplier_second_order = false;
  /// Relative size under which a multiplier (distance to 0 or w) and a slack count as zero.
  Scalar weak_tolerance = Scalar(1e-9);
  /// Relative size of min|R_jj| / max|R_jj| under which the working set is taken as dependent.
  Scalar singular_tolerance = Scalar(1e-11);
  WeakRowChoice weak_rows = WeakRowChoice::as_solved;
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic,
          int NP = Eigen::Dynamic>
class Sensitivity {
  static constexpr int NP2 = NP == Eigen::Dynamic ? Eigen::Dynamic : NP * NP;

 public:
  using Solver = DenseSolver<Scalar, N, P, M>;
  using Derivatives = ProblemDerivatives<Scalar, N, P, M>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using MatrixNNP = Eigen::Matrix<Scalar, N, NP>;
  using MatrixNNP2 = Eigen::Matrix<Scalar, N, NP2>;

  /// Differentiates the solution held by `solved` along the data derivatives `dX`. `dX` must
  /// outlive every later functional_hessian() call (see the header comment).
  Sensitivity& compute(const Solver& solved, const Derivatives& dX, const SensitivitySettings<Scalar>& settings = {}) {
    validate(solved, dX);
    settings_ = settings;
    dx_ = &dX;
    const auto& pr = solved.problem();
    const auto& res = solved.result();
    n_ = pr.H.rows();
    p_ = pr.A.rows();
    m_ = pr.C.rows();
    np_ = dX.num_parameters;
    allocate();
    dz_.setZero();
    dlambda_.setZero();
    dy_eq_.setZero();
    dy_ineq_.setZero();
    row_flags_.setZero();
    zero_slack_.setZero();
    has_second_ = false;
    if (res.status != Status::optimal) {
      status_ = SensitivityStatus::not_solved;
      return *this;
    }
    problem_ = &pr;
    z_ = res.z;
    y_eq_ = res.y_eq;
    y_ineq_ = res.y_ineq;
    row_state_ = res.row_state;
    factor_ = solved.factor();
    q_ = solved.working_set_size();
    for (Eigen::Index k = 0; k < q_; ++k) {
      const int idx = solved.working_set_member(k);
      ws_index_(k) = idx;
      ws_sign_(k) = solved.working_set_sign(k);
    }
    status_ = SensitivityStatus::ok;
    if (solved.has_redundant_equalities()) status_ = SensitivityStatus::licq_violated;
    classify_rows();
    resolve_dependent_rows();
    if (status_ == SensitivityStatus::ok)
      for (Eigen::Index i = 0; i < m_; ++i)
        if (row_flags_(i) == RowFlag::row_weakly_active) status_ = SensitivityStatus::weakly_active;
    apply_weak_choice();
    if (factor_.conditioning() < settings_.singular_tolerance) status_ = SensitivityStatus::singular_kkt;
    if (status_ == SensitivityStatus::singular_kkt) {
      problem_ = nullptr;
      return *this;
    }

    for (Eigen::Index k = 0; k < q_; ++k) lambda_(k) = multiplier_of(k);
    build_row_weights();
    first_order();
    check_one_sided();
    if (settings_.second_order && np_ > 0) second_order();
    problem_ = nullptr;  // not read after compute()
    return *this;
  }
  /// A temporary dX would dangle in functional_hessian(): not allowed.
  Sensitivity& compute(const Solver& solved, const Derivatives&& dX, const SensitivitySettings<Scalar>& settings = {}) = delete;

  SensitivityStatus info() const { return status_; }
  /// RowFlag per inequality row (weakly active, or dependent on the working set).
  const Eigen::Matrix<std::int8_t, M, 1>& row_flags() const { return row_flags_; }

  const MatrixNNP& dz_dtheta() const { return dz_; }
  const Eigen::Matrix<Scalar, P, NP>& dy_eq_dtheta() const { return dy_eq_; }
  const Eigen::Matrix<Scalar, M, NP>& dy_ineq_dtheta() const { return dy_ineq_; }

  /// d2z/(dtheta_i dtheta_j), available when settings.second_order.
  auto d2z_dtheta2(Eigen::Index i, Eigen::Index j) const { return d2z_.col(i * np_ + j); }
  /// All second derivatives: column i * np + j holds d2z/(dtheta_i dtheta_j).
  const MatrixNNP2& d2z_dtheta2() const { return d2z_; }
  /// d2(lambda_k)/(dtheta_i dtheta_j) of working-set member k (multiplier_second_order).
  Scalar d2lambda_dtheta2(Eigen::Index k, Eigen::Index i, Eigen::Index j) const { return d2lambda_(k, i * np_ + j); }
  Eigen::Index working_set_size() const { return q_; }
  /// Working-set member k: index < p an equality row, else inequality row index - p.
  int working_set_member(Eigen::Index k) const { return ws_index_(k); }

  /// e' d2z/dtheta2 (np x np) by one adjoint solve, equation (2) contracted with [a; beta].
  /// Valid after compute() whether or not settings.second_order was set.
  template <typename E, typename Out>
  void functional_hessian(const E& e, Out& out) const {
    if (e.rows() != n_ || e.cols() != 1)
      throw std::invalid_argument("Sensitivity::functional_hessian: e is " + std::to_string(e.rows()) + "x" +
                                  std::to_string(e.cols()) + ", expected a vector of n = " + std::to_string(n_) + " entries");
    if (out.rows() != np_ || out.cols() != np_)
      throw std::invalid_argument("Sensitivity::functional_hessian: out is " + std::to_string(out.rows()) + "x" +
                                  std::to_string(out.cols()) + ", expected np x np = " + std::to_string(np_) + "x" +
                                  std::to_string(np_));
    out.setZero();
    if (status_ == SensitivityStatus::not_solved || status_ == SensitivityStatus::singular_kkt || np_ == 0) return;
    const Derivatives& dX = *dx_;
    zero_n_.head(q_).setZero();
    e_buf_ = e;
    solve_kkt(e_buf_, zero_n_, adj_a_, adj_beta_);
    // Per parameter j: (dH_j a + dN_j' beta) and dN_j a.
    for (Eigen::Index j = 0; j < np_; ++j) {
      auto ha = ha_.col(j);
      if (!dX.dH.empty())
        ha.noalias() = dX.dH[size_t(j)] * adj_a_;
      else
        ha.setZero();
      if (has_dN_ && q_ > 0) {
        const auto dNj = dN_.block(0, j * n_, q_, n_);
        ha.noalias() += dNj.transpose() * adj_beta_.head(q_);
        na_.col(j).head(q_).noalias() = dNj * adj_a_;
      } else {
        na_.col(j).head(q_).setZero();
      }
    }
    for (Eigen::Index i = 0; i < np_; ++i)
      for (Eigen::Index j = 0; j <= i; ++j) {
        Scalar v = ha_.col(j).dot(dz_.col(i)) + ha_.col(i).dot(dz_.col(j)) + na_.col(j).head(q_).dot(dlambda_.col(i).head(q_)) +
                   na_.col(i).head(q_).dot(dlambda_.col(j).head(q_));
        out(i, j) = -v;
        out(j, i) = -v;
      }
    if (dX.has_second_order()) add_second_order_data_terms(adj_a_, adj_beta_, out);
  }

 private:
  // Sizes of everything compute() and functional_hessian() read, before anything is read.
  void validate(const Solver& solved, const Derivatives& dX) const {
    const auto& pr = solved.problem();
    const Eigen::Index n = pr.H.rows(), p = pr.A.rows(), m = pr.C.rows(), np = dX.num_parameters;
    auto fail = [](const std::string& msg) { throw std::invalid_argument("Sensitivity::compute: " + msg); };
    auto str = [](Eigen::Index v) { return std::to_string(v); };
    if (np < 0) fail("dX.num_parameters = " + str(np) + " is negative");
    if (NP != Eigen::Dynamic && np != NP)
      fail("dX.num_parameters = " + str(np) + ", expected the compile-time NP = " + str(NP));
    // An unsolved problem is not read (status not_solved): only num_parameters matters then.
    if (solved.result().status != Status::optimal) return;
    if (solved.result().z.size() != n || pr.g.size() != n || pr.d.size() != m || pr.soft_weight.size() != m)
      fail("solved holds a problem of inconsistent sizes");
    auto check = [&](const auto& vec, size_t count, Eigen::Index rows, Eigen::Index cols, const char* name,
                     const char* expected) {
      if (vec.empty()) return;
      if (vec.size() != count)
        fail(std::string("dX.") + name + " has " + std::to_string(vec.size()) + " elements, expected " +
             (count == size_t(np) ? "num_parameters = " : "num_parameters^2 = ") + std::to_string(count) +
             " (or none)");
      for (size_t i = 0; i < vec.size(); ++i)
        if (vec[i].rows() != rows || vec[i].cols() != cols)
          fail(std::string("dX.") + name + "[" + std::to_string(i) + "] is " + str(vec[i].rows()) + "x" +
               str(vec[i].cols()) + ", expected " + expected + " = " + str(rows) + "x" + str(cols));
    };
    const auto k1 = size_t(np), k2 = size_t(np * np);
    check(dX.dH, k1, n, n, "dH", "n x n");
    check(dX.dg, k1, n, 1, "dg", "n x 1");
    check(dX.dA, k1, p, n, "dA", "p x n");
    check(dX.db, k1, p, 1, "db", "p x 1");
    check(dX.dC, k1, m, n, "dC", "m x n");
    check(dX.dd, k1, m, 1, "dd", "m x 1");
    check(dX.d2H, k2, n, n, "d2H", "n x n");
    check(dX.d2g, k2, n, 1, "d2g", "n x 1");
    check(dX.d2A, k2, p, n, "d2A", "p x n");
    check(dX.d2b, k2, p, 1, "d2b", "p x 1");
    check(dX.d2C, k2, m, n, "d2C", "m x n");
    check(dX.d2d, k2, m, 1, "d2d", "m x 1");
    if (!dX.second_order_pairs.empty() && dX.second_order_pairs.size() != k2)
      fail("dX.second_order_pairs has " + std::to_string(dX.second_order_pairs.size()) +
           " entries, expected num_parameters^2 = " + std::to_string(k2) + " (or none)");
  }

  bool in_working_set(Eigen::Index i) const {
    for (Eigen::Index k = 0; k < q_; ++k)
      if (ws_index_(k) == int(p_ + i)) return true;
    return false;
  }

  // Adds inequality row i to the working set (multiplier 0) when its normal is independent of
  // it; false when dependent (or the working set is full).
  bool join_working_set(Eigen::Index i) {
    if (q_ == n_) return false;
    r1_ = problem_->C.row(i).transpose();
    factor_.rotate_normal(r1_, d_);
    if (!(d_.tail(n_ - q_).norm() > std::sqrt(settings_.singular_tolerance) * d_.norm())) return false;
    ws_index_(q_) = int(p_ + i);
    ws_sign_(q_) = 1;
    factor_.add(d_);
    ++q_;
    row_state_(i) = RowState::active;
    y_ineq_(i) = Scalar(0);
    return true;
  }

  // d/dtheta_k of (C_j + c C_i) z - (d_j + c d_i) at fixed z: zero when the pair i, j stays an
  // equality (c > 0: opposite-parallel) to first order along theta_k.
  bool pair_consistent(Eigen::Index i, Eigen::Index j, Scalar c) const {
    const Derivatives& dX = *dx_;
    for (Eigen::Index k = 0; k < np_; ++k) {
      Scalar r = 0, scale = 1;
      if (!dX.dC.empty()) {
        const Scalar ci = dX.dC[size_t(k)].row(i).dot(z_), cj = dX.dC[size_t(k)].row(j).dot(z_);
        r += cj + c * ci;
        scale += std::abs(cj) + c * std::abs(ci);
      }
      if (!dX.dd.empty()) {
        const Scalar di = dX.dd[size_t(k)](i), dj = dX.dd[size_t(k)](j);
        r -= dj + c * di;
        scale += std::abs(dj) + c * std::abs(di);
      }
      if (std::abs(r) > Scalar(1e-8) * scale) return false;
    }
    return true;
  }

  // Dependent hard rows at zero slack (see the header comment): opposite-parallel pairs become
  // one equality; rows in the span of the working set are flagged row_dependent.
  void resolve_dependent_rows() {
    const auto& pr = *problem_;
    const Scalar dep_tol = std::sqrt(settings_.singular_tolerance);
    auto candidate = [&](Eigen::Index i) {
      return zero_slack_(i) != 0 && !pr.is_soft(i) && row_state_(i) != RowState::saturated;
    };
    // Pairs C_j = -c C_i, c > 0.
    for (Eigen::Index i = 0; i < m_; ++i) {
      if (!candidate(i) || row_flags_(i) == RowFlag::row_dependent) continue;
      const Scalar nii = pr.C.row(i).squaredNorm();
      if (!(nii > 0)) continue;
      for (Eigen::Index j = i + 1; j < m_; ++j) {
        if (!candidate(j) || row_flags_(j) == RowFlag::row_dependent) continue;
        const Scalar dot = pr.C.row(i).dot(pr.C.row(j));
        if (!(dot < 0)) continue;
        const Scalar c = -dot / nii;
        if ((pr.C.row(j) + c * pr.C.row(i)).norm() > dep_tol * pr.C.row(j).norm()) continue;
        if (!pair_consistent(i, j, c)) {
          row_flags_(i) = row_flags_(j) = RowFlag::row_dependent;
          status_ = SensitivityStatus::licq_violated;
          break;
        }
        const bool in_i = in_working_set(i), in_j = in_working_set(j);
        if (in_i && in_j) {
          row_flags_(i) = row_flags_(j) = RowFlag::row_dependent;
          status_ = SensitivityStatus::licq_violated;
        } else if (in_i || in_j) {
          row_flags_(in_i ? i : j) = RowFlag::row_regular;  // an equality: its multiplier sign is free
          row_flags_(in_i ? j : i) = RowFlag::row_dependent;
        } else if (join_working_set(i)) {
          row_flags_(i) = RowFlag::row_regular;
          row_flags_(j) = RowFlag::row_dependent;
        }
        // else: both dependent on the working set, handled below.
        break;
      }
    }
    // Zero-slack rows outside the working set in its span (duplicates, equalities pinning a
    // bound): dependent; check_one_sided() requires them to keep zero slack.
    for (Eigen::Index i = 0; i < m_; ++i) {
      if (!candidate(i) || row_flags_(i) == RowFlag::row_dependent || row_state_(i) == RowState::active) continue;
      bool dependent = q_ == n_;
      if (!dependent) {
        r1_ = pr.C.row(i).transpose();
        factor_.rotate_normal(r1_, d_);
        dependent = !(d_.tail(n_ - q_).norm() > dep_tol * d_.norm());
      }
      if (dependent) row_flags_(i) = RowFlag::row_dependent;
    }
  }

  // The derivative must be one-sided in the + or - direction of each parameter: rows outside
  // the working set at zero slack stay feasible (dependent rows: stay at zero slack), weakly
  // active working-set multipliers stay in their box. Otherwise it is no derivative at all.
  void check_one_sided() {
    if (status_ != SensitivityStatus::ok && status_ != SensitivityStatus::weakly_active) return;
    const Derivatives& dX = *dx_;
    const auto& pr = *problem_;
    const Scalar tol = Scalar(1e-7);
    for (Eigen::Index k = 0; k < np_; ++k) {
      Scalar scale = Scalar(1) + dz_.col(k).cwiseAbs().maxCoeff();
      if (q_ > 0) scale += dlambda_.col(k).head(q_).cwiseAbs().maxCoeff();
      bool plus = true, minus = true;
      for (Eigen::Index r = 0; r < m_; ++r) {
        const int flag = row_flags_(r);
        if (flag == RowFlag::row_regular) continue;
        if (row_state_(r) == RowState::active) {
          if (flag != RowFlag::row_weakly_active) continue;
          const Scalar dl = dy_ineq_(r, k);
          const bool at_upper = pr.is_soft(r) && y_ineq_(r) > Scalar(0.5) * pr.soft_weight(r);
          const Scalar t = tol * scale;
          if (at_upper ? dl > t : dl < -t) plus = false;
          if (at_upper ? dl < -t : dl > t) minus = false;
          continue;
        }
        Scalar sd = pr.C.row(r).dot(dz_.col(k)), t = scale + std::abs(sd);
        if (!dX.dC.empty()) sd += dX.dC[size_t(k)].row(r).dot(z_);
        if (!dX.dd.empty()) {
          sd -= dX.dd[size_t(k)](r);
          t += std::abs(dX.dd[size_t(k)](r));
        }
        t *= tol;
        if (flag == RowFlag::row_dependent) {
          if (std::abs(sd) > t) {
            status_ = SensitivityStatus::licq_violated;
            return;
          }
          continue;
        }
        const bool saturated = row_state_(r) == RowState::saturated;  // slack must stay >= 0
        if (saturated ? sd < -t : sd > t) plus = false;
        if (saturated ? sd > t : sd < -t) minus = false;
      }
      if (!plus && !minus) {
        status_ = SensitivityStatus::licq_violated;
        return;
      }
    }
  }

  void allocate() {
    factor_.resize(n_);
    ws_index_.resize(n_);
    ws_sign_.resize(n_);
    lambda_.resize(n_);
    z_.resize(n_);
    r1_.resize(n_);
    r2_.resize(n_);
    x_.resize(n_);
    l_.resize(n_);
    d_.resize(n_);
    adj_a_.resize(n_);
    adj_beta_.resize(n_);
    zero_n_.resize(n_);
    signed_r2_.resize(n_);
    e_buf_.resize(n_);
    dz_.resize(n_, np_);
    dlambda_.resize(n_, np_);
    dy_eq_.resize(p_, np_);
    dy_ineq_.resize(m_, np_);
    ha_.resize(n_, np_);
    dN_.resize(n_, n_ * np_);
    omega_ineq_.resize(m_), beta_ineq_.resize(m_), weight_c_.resize(m_, n_), weighted_rows_.resize(m_);
    omega_eq_.resize(p_), row_values_eq_.resize(p_), beta_eq_.resize(p_), weight_a_.resize(p_, n_);
    weight_h_.resize(n_, n_);
    const Eigen::Index pairs = np_ * (np_ + 1) / 2;
    rhs1_.resize(n_, pairs), rhs2_.resize(n_, pairs), sol1_.resize(n_, pairs);
    sol2_.resize(n_, pairs), work_.resize(n_, pairs), signed_rhs2_.resize(n_, pairs);
    kz_.resize(n_, np_ * np_), nz_.resize(n_, np_ * np_);
    de_.resize(n_, np_);
    saturated_grad_.resize(n_, np_);
    na_.resize(n_, np_);
    row_flags_.resize(m_);
    zero_slack_.resize(m_);
    if (settings_.second_order) {
      d2z_.resize(n_, np_ * np_);
      if (settings_.multiplier_second_order) d2lambda_.resize(n_, np_ * np_);
    }
  }

  Scalar multiplier_of(Eigen::Index k) const {
    const int idx = ws_index_(k);
    return idx < p_ ? y_eq_(idx) : y_ineq_(idx - p_);
  }

  // Weakly active rows: zero slack with a multiplier at a bound of its box [0, w].
  void classify_rows() {
    const auto& pr = *problem_;
    const Scalar tol = settings_.weak_tolerance;
    const Scalar mu_scale = Scalar(1) + (m_ > 0 ? y_ineq_.cwiseAbs().maxCoeff() : Scalar(0));
    for (Eigen::Index i = 0; i < m_; ++i) {
      const Scalar ci_z = pr.C.row(i).dot(z_);
      const bool zero_slack = std::abs(ci_z - pr.d(i)) <= tol * (Scalar(1) + std::abs(pr.d(i)) + std::abs(ci_z));
      const Scalar w = pr.soft_weight(i);
      const bool soft = pr.is_soft(i);
      bool weak = false;
      switch (row_state_(i)) {
        case RowState::active:
          weak = y_ineq_(i) <= tol * mu_scale || (soft && w - y_ineq_(i) <= tol * mu_scale);
          break;
        case RowState::inactive:
        case RowState::saturated:
          weak = zero_slack;
          break;
        default: break;
      }
      zero_slack_(i) = std::int8_t(zero_slack || row_state_(i) == RowState::active);
      if (weak) row_flags_(i) = RowFlag::row_weakly_active;
    }
  }

  // Builds the working set of the requested one-sided derivative from the solver's.
  void apply_weak_choice() {
    if (settings_.weak_rows == WeakRowChoice::as_solved || status_ != SensitivityStatus::weakly_active) return;
    const auto& pr = *problem_;
    if (settings_.weak_rows == WeakRowChoice::drop) {
      for (Eigen::Index k = q_ - 1; k >= 0; --k) {
        const int idx = ws_index_(k);
        if (idx < p_ || row_flags_(idx - p_) != RowFlag::row_weakly_active) continue;
        const Eigen::Index i = idx - p_;
        // Released to the side its multiplier sits on: 0 -> inactive, w -> saturated.
        row_state_(i) = y_ineq_(i) <= Scalar(0.5) * (pr.is_soft(i) ? pr.soft_weight(i) : Scalar(1)) ? RowState::inactive
                                                                                                 : RowState::saturated;
        if (row_state_(i) == RowState::inactive) y_ineq_(i) = 0;
        remove_member(k);
      }
      return;
    }
    // keep_active: weakly active rows outside the working set join it (multiplier at its bound).
    for (Eigen::Index i = 0; i < m_; ++i) {
      if (row_flags_(i) != RowFlag::row_weakly_active || row_state_(i) == RowState::active) continue;
      if (q_ == n_) {
        row_flags_(i) = RowFlag::row_dependent;
        status_ = SensitivityStatus::licq_violated;
        continue;
      }
      r1_ = pr.C.row(i).transpose();
      factor_.rotate_normal(r1_, d_);
      if (!(d_.tail(n_ - q_).norm() > std::sqrt(settings_.singular_tolerance) * d_.norm())) {
        row_flags_(i) = RowFlag::row_dependent;
        status_ = SensitivityStatus::licq_violated;
        continue;
      }
      ws_index_(q_) = int(p_ + i);
      ws_sign_(q_) = 1;
      factor_.add(d_);
      ++q_;
      row_state_(i) = RowState::active;
    }
  }

  void remove_member(Eigen::Index k) {
    for (Eigen::Index j = k; j + 1 < q_; ++j) {
      ws_index_(j) = ws_index_(j + 1);
      ws_sign_(j) = ws_sign_(j + 1);
    }
    factor_.remove(k);
    --q_;
  }

  // Natural-orientation KKT solve on the (possibly modified) working set.
  template <typename R1, typename R2, typename X, typename L>
  void solve_kkt(const R1& r1, const R2& r2, X& x, L& lam) const {
    for (Eigen::Index k = 0; k < q_; ++k) signed_r2_(k) = ws_sign_(k) * r2(k);
    factor_.solve_kkt(r1, signed_r2_, x, lam);
    for (Eigen::Index k = 0; k < q_; ++k) lam(k) *= ws_sign_(k);
  }

  // Gathers, once per compute(), the derivatives of the working-set rows (dN_i, q x n per
  // parameter), of their right-hand sides (de_i) and the saturated rows' gradient terms
  // sum_T w_k dC_i,k', so that each back-solve's right-hand side is a few dense products.
  void gather_first_order_data() {
    const Derivatives& dX = *dx_;
    const auto& pr = *problem_;
    has_dN_ = !dX.dC.empty() || !dX.dA.empty();
    de_.setZero();
    saturated_grad_.setZero();
    for (Eigen::Index i = 0; i < np_; ++i) {
      for (Eigen::Index k = 0; k < q_; ++k) {
        const int idx = ws_index_(k);
        auto dN_row = dN_.block(k, i * n_, 1, n_);
        if (idx < p_) {
          if (!dX.dA.empty()) dN_row = detail::row(dX.dA[size_t(i)], idx); else if (has_dN_) dN_row.setZero();
          if (!dX.db.empty()) de_(k, i) = dX.db[size_t(i)](idx);
        } else {
          const Eigen::Index r = idx - p_;
          if (!dX.dC.empty()) dN_row = dX.dC[size_t(i)].row(r); else if (has_dN_) dN_row.setZero();
          if (!dX.dd.empty()) de_(k, i) = dX.dd[size_t(i)](r);
        }
      }
      if (!dX.dC.empty())
        for (Eigen::Index r = 0; r < m_; ++r)
          if (row_state_(r) == RowState::saturated) saturated_grad_.col(i).noalias() += pr.soft_weight(r) * dX.dC[size_t(i)].row(r).transpose();
    }
  }

  void first_order() {
    const Derivatives& dX = *dx_;
    gather_first_order_data();
    // Right-hand sides of (1), -(K_i w + f_i), as the columns of one block solve.
    rhs1_.leftCols(np_) = saturated_grad_;
    for (Eigen::Index i = 0; i < np_; ++i) {
      if (!dX.dH.empty()) rhs1_.col(i).noalias() += dX.dH[size_t(i)] * z_;
      if (!dX.dg.empty()) rhs1_.col(i) += dX.dg[size_t(i)];
      rhs2_.col(i).head(q_) = de_.col(i).head(q_);
      if (has_dN_ && q_ > 0) {
        const auto dNi = dN_.block(0, i * n_, q_, n_);
        rhs1_.col(i).noalias() += dNi.transpose() * lambda_.head(q_);
        rhs2_.col(i).head(q_).noalias() -= dNi * z_;
      }
    }
    rhs1_.leftCols(np_) = -rhs1_.leftCols(np_);
    auto x = sol1_.leftCols(np_);
    auto l = sol2_.leftCols(np_);
    auto w = work_.leftCols(np_);
    solve_block(rhs1_.leftCols(np_), rhs2_.leftCols(np_), x, l, w);
    dz_ = x;
    dlambda_.topRows(q_) = l.topRows(q_);
    for (Eigen::Index k = 0; k < q_; ++k) {
      const int idx = ws_index_(k);
      if (idx < p_)
        dy_eq_.row(idx) = l.row(k);
      else
        dy_ineq_.row(idx - p_) = l.row(k);
    }
  }

  template <typename R1, typename R2, typename X, typename L, typename W>
  void solve_block(const R1& r1, const R2& r2, X& x, L& lam, W& work) {
    for (Eigen::Index k = 0; k < q_; ++k)
      if (ws_sign_(k) < 0) signed_rhs2_.row(k).head(r2.cols()) = -r2.row(k);
      else signed_rhs2_.row(k).head(r2.cols()) = r2.row(k);
    factor_.solve_kkt_block(r1, signed_rhs2_.leftCols(r2.cols()), x, lam, work);
    for (Eigen::Index k = 0; k < q_; ++k)
      if (ws_sign_(k) < 0) lam.row(k) = -lam.row(k);
  }

  // Multipliers of the rows as they enter K_ij w + f_ij: omega_ineq(r) = mu_r for working-set
  // rows, w_r for saturated rows (their term w_r C_r'), 0 otherwise; omega_eq likewise.
  // Only these rows (working set and saturated, usually a handful of the m) enter the
  // second-order data terms: they are listed in weighted_rows_ so that the per-pair work is
  // O(rows in the list * n) instead of O(m n).
  void build_row_weights() {
    const auto& pr = *problem_;
    omega_ineq_.setZero(m_);
    omega_eq_.setZero(p_);
    num_weighted_ = 0;
    for (Eigen::Index r = 0; r < m_; ++r)
      if (row_state_(r) == RowState::saturated) {
        omega_ineq_(r) = pr.soft_weight(r);
        weighted_rows_(num_weighted_++) = int(r);
      }
    for (Eigen::Index k = 0; k < q_; ++k) {
      const int idx = ws_index_(k);
      if (idx < p_) {
        omega_eq_(idx) = lambda_(k);
      } else {
        omega_ineq_(idx - p_) = lambda_(k);
        weighted_rows_(num_weighted_++) = idx - int(p_);
      }
    }
  }

  // [a; beta]' (K_ij w + f_ij) for all pairs: each term is a Frobenius product of a second
  // derivative with a rank-two weight built once, e.g. a'd2H z = <d2H, a z'> and
  // sum_r (omega_r a + beta_r z)' d2C_r - beta_r d2d_r, over the weighted rows only (omega_r
  // and beta_r vanish elsewhere); weight_c_ row t holds omega_r a' + beta_r z' of row t's r.
  template <typename Out>
  void add_second_order_data_terms(const VectorN& a, const VectorN& beta, Out& out) const {
    const Derivatives& dX = *dx_;
    beta_ineq_.setZero(m_);
    beta_eq_.setZero(p_);
    for (Eigen::Index k = 0; k < q_; ++k) {
      const int idx = ws_index_(k);
      if (idx < p_) beta_eq_(idx) = beta(k); else beta_ineq_(idx - p_) = beta(k);
    }
    if (!dX.d2H.empty()) weight_h_.noalias() = a * z_.transpose();
    if (!dX.d2C.empty())
      for (Eigen::Index t = 0; t < num_weighted_; ++t) {
        const Eigen::Index r = weighted_rows_(t);
        weight_c_.row(t) = omega_ineq_(r) * a.transpose() + beta_ineq_(r) * z_.transpose();
      }
    if (!dX.d2A.empty()) weight_a_.noalias() = omega_eq_ * a.transpose() + beta_eq_ * z_.transpose();
    for (Eigen::Index i = 0; i < np_; ++i)
      for (Eigen::Index j = 0; j <= i; ++j) {
        if (!dX.pair_present(i, j)) continue;
        const size_t ij = size_t(i * np_ + j);
        Scalar v = 0;
        if (!dX.d2H.empty()) v += dX.d2H[ij].cwiseProduct(weight_h_).sum();
        if (!dX.d2g.empty()) v += a.dot(dX.d2g[ij]);
        for (Eigen::Index t = 0; t < num_weighted_; ++t) {
          const Eigen::Index r = weighted_rows_(t);
          if (!dX.d2C.empty()) v += dX.d2C[ij].row(r).dot(weight_c_.row(t));
          if (!dX.d2d.empty()) v -= beta_ineq_(r) * dX.d2d[ij](r);
        }
        if (!dX.d2A.empty()) v += dX.d2A[ij].cwiseProduct(weight_a_).sum();
        if (!dX.d2b.empty()) v -= beta_eq_.dot(dX.d2b[ij]);
        out(i, j) -= v;
        if (i != j) out(j, i) -= v;
      }
  }

  void second_order() {
    const Derivatives& dX = *dx_;
    has_second_ = true;
    // Block a of kz_ / nz_: K_a applied to all first-order solutions, i.e. columns
    // (dH_a dz_b + dN_a' dlambda_b) and dN_a dz_b for b = 0..np-1.
    for (Eigen::Index a = 0; a < np_; ++a) {
      auto kz = kz_.middleCols(a * np_, np_);
      if (!dX.dH.empty())
        kz.noalias() = dX.dH[size_t(a)] * dz_;
      else
        kz.setZero();
      if (has_dN_ && q_ > 0) {
        const auto dNa = dN_.block(0, a * n_, q_, n_);
        kz.noalias() += dNa.transpose() * dlambda_.topRows(q_);
        nz_.block(0, a * np_, q_, np_).noalias() = dNa * dz_;
      } else {
        nz_.block(0, a * np_, q_, np_).setZero();
      }
    }
    Eigen::Index c = 0;
    for (Eigen::Index i = 0; i < np_; ++i)
      for (Eigen::Index j = 0; j <= i; ++j, ++c) {
        // rhs of (2): -(K_j w_i + K_i w_j + K_ij w + f_ij).
        r1_ = kz_.col(j * np_ + i) + kz_.col(i * np_ + j);
        r2_.head(q_) = nz_.col(j * np_ + i).head(q_) + nz_.col(i * np_ + j).head(q_);
        const size_t ij = size_t(i * np_ + j);
        if (!dX.pair_present(i, j)) {
          rhs1_.col(c) = -r1_;
          rhs2_.col(c).head(q_) = -r2_.head(q_);
          continue;
        }
        if (!dX.d2H.empty()) r1_.noalias() += dX.d2H[ij] * z_;
        if (!dX.d2g.empty()) r1_ += dX.d2g[ij];
        if (!dX.d2C.empty())
          for (Eigen::Index t = 0; t < num_weighted_; ++t) {
            const Eigen::Index r = weighted_rows_(t);
            r1_.noalias() += omega_ineq_(r) * dX.d2C[ij].row(r).transpose();
          }
        if (!dX.d2A.empty()) {
          r1_.noalias() += dX.d2A[ij].transpose() * omega_eq_;
          row_values_eq_.noalias() = dX.d2A[ij] * z_;
        } else {
          row_values_eq_.setZero(p_);
        }
        if (!dX.d2b.empty()) row_values_eq_ -= dX.d2b[ij];
        for (Eigen::Index k = 0; k < q_; ++k) {  // d2/dtheta2 of the working-set rows' residuals at z
          const int idx = ws_index_(k);
          if (idx < p_) {
            r2_(k) += row_values_eq_(idx);
          } else {
            const Eigen::Index r = idx - p_;
            if (!dX.d2C.empty()) r2_(k) += dX.d2C[ij].row(r).dot(z_);
            if (!dX.d2d.empty()) r2_(k) -= dX.d2d[ij](r);
          }
        }
        rhs1_.col(c) = -r1_;
        rhs2_.col(c).head(q_) = -r2_.head(q_);
      }
    auto x = sol1_.leftCols(c);
    auto l = sol2_.leftCols(c);
    auto w = work_.leftCols(c);
    solve_block(rhs1_.leftCols(c), rhs2_.leftCols(c), x, l, w);
    c = 0;
    for (Eigen::Index i = 0; i < np_; ++i)
      for (Eigen::Index j = 0; j <= i; ++j, ++c) {
        d2z_.col(i * np_ + j) = x.col(c);
        d2z_.col(j * np_ + i) = x.col(c);
        if (settings_.multiplier_second_order) {
          d2lambda_.col(i * np_ + j).head(q_) = l.col(c).head(q_);
          d2lambda_.col(j * np_ + i).head(q_) = l.col(c).head(q_);
        }
      }
  }

  SensitivitySettings<Scalar> settings_;
  const Derivatives* dx_ = nullptr;
  const Problem<Scalar, N, P, M>* problem_ = nullptr;
  SensitivityStatus status_ = SensitivityStatus::not_solved;
  Eigen::Index n_ = 0, p_ = 0, m_ = 0, np_ = 0, q_ = 0;
  bool has_second_ = false;

  detail::WorkingSetFactor<Scalar, N> factor_;
  Eigen::Matrix<int, N, 1> ws_index_;
  Eigen::Matrix<std::int8_t, N, 1> ws_sign_;
  VectorN lambda_, z_, r1_, r2_, x_, l_, d_;
  mutable VectorN adj_a_, adj_beta_, zero_n_, signed_r2_, e_buf_;
  Eigen::Matrix<Scalar, M, 1> y_ineq_;
  Eigen::Matrix<Scalar, P, 1> y_eq_;
  Eigen::Matrix<std::int8_t, M, 1> row_state_, row_flags_, zero_slack_;
  MatrixNNP dz_, dlambda_;
  mutable MatrixNNP ha_, na_;
  Eigen::Matrix<Scalar, P, NP> dy_eq_;
  Eigen::Matrix<Scalar, M, NP> dy_ineq_;
  MatrixNNP2 d2z_, d2lambda_;
  static constexpr int NNP = (N == Eigen::Dynamic || NP == Eigen::Dynamic) ? Eigen::Dynamic : N * NP;
  Eigen::Matrix<Scalar, N, NNP> dN_;  ///< Block i: d/dtheta_i of the working-set rows (q x n).
  MatrixNNP de_;                      ///< Column i: d/dtheta_i of the working-set right-hand sides.
  MatrixNNP saturated_grad_;          ///< Column i: sum over saturated rows of w_k dC_i,k'.
  bool has_dN_ = false;
  Eigen::Matrix<Scalar, M, 1> omega_ineq_;
  Eigen::Matrix<int, M, 1> weighted_rows_;  ///< working-set and saturated inequality rows
  Eigen::Index num_weighted_ = 0;
  Eigen::Matrix<Scalar, P, 1> omega_eq_, row_values_eq_;
  mutable Eigen::Matrix<Scalar, M, 1> beta_ineq_;
  mutable Eigen::Matrix<Scalar, P, 1> beta_eq_;
  mutable Eigen::Matrix<Scalar, N, N> weight_h_;
  mutable Eigen::Matrix<Scalar, M, N> weight_c_;
  mutable Eigen::Matrix<Scalar, P, N> weight_a_;
  // Block solves: columns are parameters (first order) or pairs i >= j (second order).
  static constexpr int NPAIRS = NP == Eigen::Dynamic ? Eigen::Dynamic : NP * (NP + 1) / 2;
  Eigen::Matrix<Scalar, N, NPAIRS> rhs1_, rhs2_, sol1_, sol2_, work_, signed_rhs2_;
  MatrixNNP2 kz_, nz_;
};

}  // namespace rmpc::qp
