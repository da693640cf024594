// The parameterized LQ-MPC policy pi_theta(s) = u_0* (method.md §2) and its derivatives
// du0/dtheta, d2u0/dtheta2 and du0/ds (method.md §3).
//
// Two time scales (the learning loop evaluates the policy ~1e5-1e6 times per theta):
//  * set_parameters(theta), once per theta: the user's model is evaluated with nested
//    AutoDiffScalar and condensed (condensing.hpp) into H, C and the state-affine terms
//    g = G s + g0, d = D s + d0 with their exact first and second theta-derivatives; H is
//    factored once (DenseSolver::compute).
//  * evaluate(s), per state, allocation-free for fixed sizes: form g, d and the per-state
//    derivative vectors dg_i = dG_i s + dg0_i, dd_i = dD_i s + dd0_i (and second order),
//    solve the QP warm-started from the last row state, then one first-order sensitivity
//    solve for dz/dtheta, one adjoint solve per input for e'd2z/dtheta2
//    (Sensitivity::functional_hessian) and one first-order solve with "parameters" s
//    (dg = G, dd = D) for du0/ds.
// The exploration cost d (u_0 - u_1) of method.md §4 is an extra linear term on z
// (exploration_cost()), and Q_theta(s, a) (the MPC as a Q-function) is the optimal cost with
// u_0 = a imposed as an equality row (q_value()).
//
// Argument checks. Every public entry checks the sizes of its arguments BEFORE converting
// them to the (possibly fixed-size) internal types, and throws std::invalid_argument naming
// the argument on a mismatch (a programmer error). Data that a learning step can produce
// (a NaN theta, a model that is not convex at theta, u_lb > u_ub at theta) is a status
// (set_parameters() returns invalid_input / non_convex, setup_message() says why), never a throw.
#pragma once

#include "rmpc/mpc/autodiff.hpp"
#include "rmpc/mpc/condensing.hpp"
#include "rmpc/mpc/model.hpp"
#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/derivatives.hpp"
#include "rmpc/qp/problem.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace rmpc::mpc {

enum class PolicyStatus {
  ok,                   ///< QP solved, requested derivatives valid.
  weakly_active,        ///< Solved; a row is weakly active, derivatives are one-sided (see qp::WeakRowChoice).
  sensitivity_failed,   ///< Solved; LICQ fails or the KKT matrix is singular: derivatives not defined.
  solver_failed,        ///< The QP was not solved to optimality (see qp_status).
  not_ready,            ///< set_parameters() failed or was not called (see setup_status()).
};

inline const char* to_string(PolicyStatus s) {
  switch (s) {
    case PolicyStatus::ok: return "ok";
    case PolicyStatus::weakly_active: return "weakly_active";
    case PolicyStatus::sensitivity_failed: return "sensitivity_failed";
    case PolicyStatus::solver_failed: return "solver_failed";
    case PolicyStatus::not_ready: return "not_ready";
  }
  return "unknown";
}

template <typename Scalar>
struct LqMpcSettings {
  /// QP solver settings (tolerances, iteration limit).
  qp::Settings<Scalar> qp = {};
  /// Degeneracy handling of the sensitivities; second_order is forced off (the policy Hessian
  /// comes from one adjoint solve per input instead of np(np+1)/2 solves).
  qp::SensitivitySettings<Scalar> sensitivity = {};
  /// Theta-derivative order prepared by set_parameters(): 0 (values only, e.g. a fixed
  /// benchmark MPC), 1 (du0/dtheta) or 2 (also d2u0/dtheta2). Higher costs more per theta only.
  int derivative_order = 2;
};

/// What evaluate() computes beyond u_0*.
struct PolicyRequest {
  bool du0_dtheta = true;     ///< First-order policy derivative (needs derivative_order >= 1).
  bool d2u0_dtheta2 = true;   ///< Second order (needs derivative_order == 2 and du0_dtheta).
  bool du0_ds = true;         ///< State derivative.
  bool dz_dtheta = false;     ///< Full dz/dtheta of all inputs (with du0_dtheta).
  bool warm_start = true;     ///< Start the QP from the last solution's row state.
};

template <typename Scalar, int NX, int NU, int N, int NP, int NZ, int M, int NS = 0>
struct PolicyResult {
  PolicyStatus status = PolicyStatus::not_ready;
  qp::Status qp_status = qp::Status::invalid_input;
  qp::SensitivityStatus sensitivity_status = qp::SensitivityStatus::not_solved;        ///< theta-sensitivity
  qp::SensitivityStatus state_sensitivity_status = qp::SensitivityStatus::not_solved;  ///< s-sensitivity
  Eigen::Matrix<Scalar, NU, 1> u0;                                   ///< pi_theta(s)
  Eigen::Matrix<Scalar, detail::size_mul(N, NU), 1> u;               ///< u_0..u_{N-1} stacked
  Eigen::Matrix<Scalar, NS, 1> slack;                                ///< slack variables (quadratic soft rows)
  Eigen::Matrix<Scalar, NX, detail::size_add(N, 1)> x;               ///< predicted x_0..x_N (columns)
  Scalar cost = Scalar(0);                                           ///< optimal MPC cost (with x_0 penalty)
  Eigen::Matrix<Scalar, NU, NP> du0_dtheta;
  /// Rows j*np .. j*np+np-1: the np x np Hessian of input j (hessian(j)).
  Eigen::Matrix<Scalar, detail::size_mul(NU, NP), NP> d2u0_dtheta2;
  Eigen::Matrix<Scalar, NU, NX> du0_ds;
  Eigen::Matrix<Scalar, NZ, NP> dz_dtheta;                           ///< when requested; z = (u, slack)
  Eigen::Matrix<std::int8_t, M, 1> row_state;                        ///< QP row states (warm start)
  int iterations = 0;                                                ///< QP active-set changes

  bool ok() const { return status == PolicyStatus::ok; }
  /// d2 u0_j / dtheta2 (np x np).
  auto hessian(Eigen::Index j) const { return d2u0_dtheta2.middleRows(j * du0_dtheta.cols(), du0_dtheta.cols()); }
};

/// Q_theta(s, a): the optimal MPC cost with u_0 = a fixed (method.md, MPC as Q-function).
template <typename Scalar, int NX, int NU, int N>
struct QValueResult {
  qp::Status status = qp::Status::invalid_input;
  Scalar cost = Scalar(0);
  Eigen::Matrix<Scalar, detail::size_mul(N, NU), 1> u;
  Eigen::Matrix<Scalar, NX, detail::size_add(N, 1)> x;
  bool ok() const { return status == qp::Status::optimal; }
};

/// NS: number of slack variables (soft components with a quadratic weight, model.hpp), e.g.
/// soft_slack_count(N, 2) for two soft state components; Eigen::Dynamic: counted from the
/// model at each set_parameters().
///
/// Results. evaluate() and q_value() return their results BY VALUE: a result stays valid
/// whatever the MPC does afterwards (`mpc.evaluate(a).u0 - mpc.evaluate(b).u0` is what it
/// says). For fixed sizes the copy involves no heap allocation. The allocation-free hot path
/// for dynamic sizes is evaluate(s, request, out) / evaluate(s, request, extra_g, out), which
/// fills a caller-owned Result (storage reused once it has the right sizes).
///
/// Copy / move contract. LqMpc is copyable and movable (it owns all of its data: the model
/// functor is copied into std::function members, the condensed QP, its derivatives, the
/// factorization and the warm start are values; the sensitivity objects re-bind to the
/// owning instance at each evaluate()). A copy made after set_parameters() is an independent
/// policy at the same theta with the same warm start: evaluating the copy and the original at
/// the same states gives identical results, and neither call affects the other. A moved-from
/// LqMpc may only be destroyed or assigned to.
template <typename Scalar, int NX, int NU, int N, int NP, int NC = 0, int NS = 0>
class LqMpc {
 public:
  static constexpr int NZ = CondensedSizes<NX, NU, N, NC, NS>::n;
  static constexpr int M = CondensedSizes<NX, NU, N, NC, NS>::m;
  using Data = LqData<Scalar, NX, NU, NC>;
  using Ad1 = typename AutoDiffTypes<Scalar, NP>::Ad1;
  using Ad2 = typename AutoDiffTypes<Scalar, NP>::Ad2;
  using VectorX = Eigen::Matrix<Scalar, NX, 1>;
  using VectorU = Eigen::Matrix<Scalar, NU, 1>;
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  using VectorZ = Eigen::Matrix<Scalar, NZ, 1>;
  using VectorM = Eigen::Matrix<Scalar, M, 1>;
  using MatrixZZ = Eigen::Matrix<Scalar, NZ, NZ>;
  using MatrixZX = Eigen::Matrix<Scalar, NZ, NX>;
  using MatrixMX = Eigen::Matrix<Scalar, M, NX>;
  using MatrixMZ = Eigen::Matrix<Scalar, M, NZ>;
  using Solver = qp::DenseSolver<Scalar, NZ, Eigen::Dynamic, M>;
  using FixedInputSolver = qp::DenseSolver<Scalar, NZ, NU, M>;
  using Result = PolicyResult<Scalar, NX, NU, N, NP, NZ, M, NS>;
  using QResult = QValueResult<Scalar, NX, NU, N>;
  using Settings = LqMpcSettings<Scalar>;
  template <typename T>
  using ModelFunction = std::function<void(const Eigen::Matrix<T, NP, 1>&, LqData<T, NX, NU, NC>&)>;

  /// `model` is the user's functor (model.hpp); `sizes` are needed only for dynamic sizes and
  /// must agree with the compile-time ones.
  template <typename Model>
  explicit LqMpc(const Model& model, const LqSizes& sizes = default_sizes(), const Settings& settings = {})
      : settings_(settings),
        sizes_(sizes),
        model_value_(model),
        model_ad1_(model),
        model_ad2_(model),
        solver_(settings.qp),
        fixed_solver_(settings.qp) {
    check_sizes();
    settings_.sensitivity.second_order = false;
    allocate();
  }

  static LqSizes default_sizes() {
    LqSizes s;
    s.nx = NX == Eigen::Dynamic ? 0 : NX;
    s.nu = NU == Eigen::Dynamic ? 0 : NU;
    s.horizon = N == Eigen::Dynamic ? 0 : N;
    s.np = NP == Eigen::Dynamic ? 0 : NP;
    s.nc = NC == Eigen::Dynamic ? 0 : NC;
    s.ns = NS == Eigen::Dynamic ? 0 : NS;
    return s;
  }

  const LqSizes& sizes() const { return sizes_; }
  /// QP variables: N nu inputs, then the slack variables.
  Eigen::Index num_variables() const { return sizes_.horizon * sizes_.nu + sizes_.ns; }
  Eigen::Index num_rows() const { return condensed_rows(sizes_.nx, sizes_.nu, sizes_.horizon, sizes_.nc, sizes_.ns); }

  /// Rebuilds the condensed QP and its theta-derivatives at theta (once per theta; allocates).
  /// Returns the factorization status: optimal (ready), non_convex, or invalid_input (a NaN/Inf
  /// theta, a negative soft weight or a hard u_lb > u_ub at this theta, ...; setup_message()
  /// names the cause). These are statuses, never thrown: theta may come from a learning step.
  /// A theta of the wrong size, or a model that writes data of the wrong sizes, is a
  /// programmer error: std::invalid_argument naming the argument / field.
  template <typename DerivedTheta>
  qp::Status set_parameters(const Eigen::MatrixBase<DerivedTheta>& theta) {
    if (theta.cols() != 1 || theta.rows() != sizes_.np)
      throw std::invalid_argument("LqMpc::set_parameters: theta is " + std::to_string(theta.rows()) + "x" +
                                  std::to_string(theta.cols()) + ", expected a vector of np = " +
                                  std::to_string(sizes_.np) + " entries");
    fixed_ready_ = false;
    have_warm_start_ = false;
    setup_status_ = qp::Status::invalid_input;
    setup_message_.clear();
    for (Eigen::Index i = 0; i < theta.rows(); ++i)
      if (!std::isfinite(theta(i, 0))) {
        setup_message_ = "theta(" + std::to_string(i) + ") is NaN/Inf";
        return setup_status_;
      }
    VectorTheta theta_in(sizes_.np);  // sizes checked above; theta may alias theta_, which allocate() resets
    detail::assign_checked(theta_in, theta);
    data_ = Data(sizes_.nx, sizes_.nu, sizes_.nc);
    model_value_(theta_in, data_);
    check_model_sizes(data_);
    if (const char* bad = invalid_soft_weights(data_)) {
      setup_message_ = std::string("invalid soft weights: ") + bad + " (soft weight must be >= 0 or +inf, quadratic weight finite and >= 0)";
      return setup_status_;
    }
    if (!check_model_values(data_)) return setup_status_;
    const Eigen::Index ns = count_slacks(data_, sizes_.horizon);
    if (ns != sizes_.ns) {
      if (NS != Eigen::Dynamic)
        throw std::invalid_argument("LqMpc::set_parameters: the model has " + std::to_string(ns) +
                                    " slack variables (soft components with a quadratic weight), template NS = " +
                                    std::to_string(sizes_.ns) + "; use soft_slack_count()");
      sizes_.ns = ns;
      allocate();
      model_value_(theta_in, data_);
    }
    theta_ = theta_in;
    switch (settings_.derivative_order) {
      case 0: {
        CondensedQp<Scalar> qp;
        condense(data_, sizes_.horizon, qp);
        extract_values(qp);
        break;
      }
      case 1: {
        Eigen::Matrix<Ad1, NP, 1> th;
        detail::seed_first<Scalar, NP>(theta_, th);
        LqData<Ad1, NX, NU, NC> data(sizes_.nx, sizes_.nu, sizes_.nc);
        model_ad1_(th, data);
        CondensedQp<Ad1> qp;
        condense(data, sizes_.horizon, qp);
        extract_values(qp);
        extract_first(qp);
        break;
      }
      default: {
        Eigen::Matrix<Ad2, NP, 1> th;
        detail::seed_second<Scalar, NP>(theta_, th);
        LqData<Ad2, NX, NU, NC> data(sizes_.nx, sizes_.nu, sizes_.nc);
        model_ad2_(th, data);
        CondensedQp<Ad2> qp;
        condense(data, sizes_.horizon, qp);
        extract_values(qp);
        extract_first(qp);
        extract_second(qp);
        break;
      }
    }
    solver_.compute(problem_);
    setup_status_ = solver_.info();
    if (setup_status_ != qp::Status::optimal) setup_message_ = "condensed QP: " + solver_.result().message;
    // du0/ds: "parameters" s enter only through g = G s + .. and d = D s + ..
    for (Eigen::Index i = 0; i < sizes_.nx; ++i) {
      dX_state_.dg[size_t(i)] = G_.col(i);
      dX_state_.dd[size_t(i)] = D_.col(i);
    }
    return setup_status_;
  }

  qp::Status setup_status() const { return setup_status_; }
  /// Why the last set_parameters() did not return optimal (empty when it did).
  const std::string& setup_message() const { return setup_message_; }
  const VectorTheta& parameters() const { return theta_; }
  /// The model data at the current theta.
  const Data& data() const { return data_; }
  /// Condensed data at the current theta (value part): g = G s + g0, d = D s + d0.
  const qp::Problem<Scalar, NZ, Eigen::Dynamic, M>& problem() const { return problem_; }
  const MatrixZX& G() const { return G_; }
  const VectorZ& g0() const { return g0_; }
  const MatrixMX& D() const { return D_; }
  const VectorM& d0() const { return d0_; }

  /// The extra linear cost d (u_0 - u_1) of method.md §4 (exploration), as a term on z:
  /// `out` (num_variables() entries; a resizable vector is resized) receives it.
  template <typename DerivedD, typename DerivedOut>
  void exploration_cost(const Eigen::MatrixBase<DerivedD>& d, const Eigen::MatrixBase<DerivedOut>& out_) const {
    check_vector(d, sizes_.nu, "LqMpc::exploration_cost", "d", "nu");
    auto& out = const_cast<Eigen::MatrixBase<DerivedOut>&>(out_);  // Eigen's idiom for writable temporaries
    resize_if_possible(out, num_variables(), 1);
    check_vector(out, num_variables(), "LqMpc::exploration_cost", "out", "num_variables()");
    out.setZero();
    out.head(sizes_.nu) = d;
    if (sizes_.horizon > 1) out.segment(sizes_.nu, sizes_.nu) = -d;
  }

  /// pi_theta(s) and the requested derivatives, returned by value (see the class comment).
  /// No heap allocation for fixed sizes.
  template <typename DerivedS>
  Result evaluate(const Eigen::MatrixBase<DerivedS>& s, const PolicyRequest& request = {}) {
    Result out;
    evaluate(s, request, out);
    return out;
  }
  /// Same with an extra linear cost extra_g'z (e.g. exploration_cost()); the derivatives are
  /// those of the perturbed MPC.
  template <typename DerivedS, typename DerivedG>
  Result evaluate(const Eigen::MatrixBase<DerivedS>& s, const PolicyRequest& request,
                  const Eigen::MatrixBase<DerivedG>& extra_g) {
    Result out;
    evaluate(s, request, extra_g, out);
    return out;
  }
  /// Allocation-free variant: fills `out` (sized on first use; no allocation once sized).
  template <typename DerivedS>
  void evaluate(const Eigen::MatrixBase<DerivedS>& s, const PolicyRequest& request, Result& out) {
    take_state(s, "LqMpc::evaluate");
    evaluate_impl(s_, request, false, out);
  }
  template <typename DerivedS, typename DerivedG>
  void evaluate(const Eigen::MatrixBase<DerivedS>& s, const PolicyRequest& request,
                const Eigen::MatrixBase<DerivedG>& extra_g, Result& out) {
    take_state(s, "LqMpc::evaluate");
    check_vector(extra_g, num_variables(), "LqMpc::evaluate", "extra_g", "num_variables()");
    if (!extra_g.allFinite()) throw std::invalid_argument("LqMpc::evaluate: extra_g has NaN/Inf entries");
    detail::assign_checked(extra_, extra_g);
    evaluate_impl(s_, request, true, out);
  }

  /// Q_theta(s, a): optimal MPC cost with u_0 = a (equality row; separate solver so that the
  /// policy's warm start is untouched). Returned by value.
  template <typename DerivedS, typename DerivedA>
  QResult q_value(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedA>& a) {
    take_state(s, "LqMpc::q_value");
    check_vector(a, sizes_.nu, "LqMpc::q_value", "a", "nu");
    if (!a.allFinite()) throw std::invalid_argument("LqMpc::q_value: a has NaN/Inf entries");
    detail::assign_checked(a_, a);
    QResult q;
    q.u.setZero(sizes_.horizon * sizes_.nu);
    q.x.setZero(sizes_.nx, sizes_.horizon + 1);
    q.status = qp::Status::invalid_input;
    if (setup_status_ != qp::Status::optimal) return q;
    if (!fixed_ready_) {
      qp::Problem<Scalar, NZ, NU, M> fixed(num_variables(), sizes_.nu, num_rows());
      fixed.H = problem_.H;
      fixed.C = problem_.C;
      fixed.soft_weight = problem_.soft_weight;
      fixed.A.setZero();
      fixed.A.leftCols(sizes_.nu).setIdentity();
      fixed_solver_.compute(fixed);
      fixed_ready_ = true;
    }
    g_.noalias() = G_ * s_;
    g_ += g0_;
    d_.noalias() = D_ * s_;
    d_ += d0_;
    fixed_solver_.update_linear_terms(g_, a_, d_);
    const auto& res = fixed_solver_.solve();
    q.status = res.status;
    if (res.status != qp::Status::optimal) return q;
    q.u = res.z.head(sizes_.horizon * sizes_.nu);
    q.cost = rollout_impl(s_, q.u, q.x);
    return q;
  }

  /// Cost of the input sequence u (N nu entries) from s under the model at the current theta
  /// (x, nx x (N+1), is filled with the predicted states; a resizable x is resized):
  /// sum_k x'Qx + q'x + u'Ru + r'u + penalties + x_N'P x_N + p'x_N.
  template <typename DerivedS, typename DerivedU, typename DerivedX>
  Scalar rollout(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedU>& u,
                 Eigen::MatrixBase<DerivedX>& x) const {
    check_vector(s, sizes_.nx, "LqMpc::rollout", "s", "nx");
    check_vector(u, sizes_.horizon * sizes_.nu, "LqMpc::rollout", "u", "horizon * nu");
    resize_if_possible(x, sizes_.nx, sizes_.horizon + 1);
    if (x.rows() != sizes_.nx || x.cols() != sizes_.horizon + 1)
      throw std::invalid_argument("LqMpc::rollout: x is " + std::to_string(x.rows()) + "x" + std::to_string(x.cols()) +
                                  ", expected nx x (horizon + 1) = " + std::to_string(sizes_.nx) + "x" +
                                  std::to_string(sizes_.horizon + 1));
    return rollout_impl(s, u, x);
  }

 private:
  using ThetaDerivatives = qp::ProblemDerivatives<Scalar, NZ, Eigen::Dynamic, M>;

  void check_sizes() const {
    auto check = [](int ct, Eigen::Index rt, const char* name) {
      if (ct != Eigen::Dynamic && ct != rt)
        throw std::invalid_argument(std::string("LqMpc: sizes.") + name + " differs from its compile-time size");
      if (rt < 0 || (rt == 0 && std::string(name) != "nc" && std::string(name) != "np" && std::string(name) != "ns"))
        throw std::invalid_argument(std::string("LqMpc: sizes.") + name + " must be positive");
    };
    check(NX, sizes_.nx, "nx");
    check(NU, sizes_.nu, "nu");
    check(N, sizes_.horizon, "horizon");
    check(NP, sizes_.np, "np");
    check(NC, sizes_.nc, "nc");
    check(NS, sizes_.ns, "ns");
  }

  template <typename Derived>
  static void check_vector(const Eigen::MatrixBase<Derived>& v, Eigen::Index n, const char* where, const char* name,
                           const char* what) {
    if (v.cols() != 1 || v.rows() != n)
      throw std::invalid_argument(std::string(where) + ": " + name + " is " + std::to_string(v.rows()) + "x" +
                                  std::to_string(v.cols()) + ", expected a vector of " + what + " = " +
                                  std::to_string(n) + " entries");
  }

  template <typename Derived>
  static void resize_if_possible(Eigen::MatrixBase<Derived>& x, Eigen::Index rows, Eigen::Index cols) {
    if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<Derived>, Derived>) {
      constexpr int R = Derived::RowsAtCompileTime, C = Derived::ColsAtCompileTime;
      if ((R == Eigen::Dynamic || R == rows) && (C == Eigen::Dynamic || C == cols) && (x.rows() != rows || x.cols() != cols))
        x.derived().resize(rows, cols);
    } else {
      (void)x, (void)rows, (void)cols;
    }
  }

  // Checks the size of s (before any conversion to VectorX) and copies it into s_.
  template <typename Derived>
  void take_state(const Eigen::MatrixBase<Derived>& s, const char* where) {
    check_vector(s, sizes_.nx, where, "s", "nx");
    if (!s.allFinite()) throw std::invalid_argument(std::string(where) + ": state s has NaN/Inf entries");
    detail::assign_checked(s_, s);
  }

  // Every field the model writes must keep its size (dynamic sizes: a model may resize).
  template <typename D>
  void check_model_sizes(const D& data) const {
    const Eigen::Index nx = sizes_.nx, nu = sizes_.nu, nc = sizes_.nc;
    auto check = [](const auto& mat, Eigen::Index r, Eigen::Index c, const char* name, const char* expected) {
      if (mat.rows() != r || mat.cols() != c)
        throw std::invalid_argument(std::string("LqMpc::set_parameters: the model set ") + name + " to " +
                                    std::to_string(mat.rows()) + "x" + std::to_string(mat.cols()) + ", expected " +
                                    expected + " = " + std::to_string(r) + "x" + std::to_string(c));
    };
    check(data.A, nx, nx, "A", "nx x nx");
    check(data.B, nx, nu, "B", "nx x nu");
    check(data.b, nx, 1, "b", "nx x 1");
    check(data.Q, nx, nx, "Q", "nx x nx");
    check(data.q, nx, 1, "q", "nx x 1");
    check(data.R, nu, nu, "R", "nu x nu");
    check(data.r, nu, 1, "r", "nu x 1");
    check(data.P, nx, nx, "P", "nx x nx");
    check(data.p, nx, 1, "p", "nx x 1");
    check(data.u_lb, nu, 1, "u_lb", "nu x 1");
    check(data.u_ub, nu, 1, "u_ub", "nu x 1");
    check(data.u_soft_weight, nu, 1, "u_soft_weight", "nu x 1");
    check(data.u_soft_quadratic, nu, 1, "u_soft_quadratic", "nu x 1");
    check(data.x_lb, nx, 1, "x_lb", "nx x 1");
    check(data.x_ub, nx, 1, "x_ub", "nx x 1");
    check(data.x_soft_weight, nx, 1, "x_soft_weight", "nx x 1");
    check(data.x_soft_quadratic, nx, 1, "x_soft_quadratic", "nx x 1");
    check(data.E_x, nc, nx, "E_x", "nc x nx");
    check(data.E_u, nc, nu, "E_u", "nc x nu");
    check(data.e, nc, 1, "e", "nc x 1");
    check(data.e_soft_weight, nc, 1, "e_soft_weight", "nc x 1");
    check(data.e_soft_quadratic, nc, 1, "e_soft_quadratic", "nc x 1");
  }

  // Values the QP cannot take, as a status with the field named in setup_message_.
  bool check_model_values(const Data& data) {
    auto finite = [this](const auto& mat, const char* name) {
      if (mat.allFinite()) return true;
      setup_message_ = std::string("the model set NaN/Inf entries in ") + name;
      return false;
    };
    if (!(finite(data.A, "A") && finite(data.B, "B") && finite(data.b, "b") && finite(data.Q, "Q") &&
          finite(data.q, "q") && finite(data.R, "R") && finite(data.r, "r") && finite(data.P, "P") &&
          finite(data.p, "p") && finite(data.E_x, "E_x") && finite(data.E_u, "E_u")))
      return false;
    auto bounds = [this](const auto& lb, const auto& ub, const auto& w, const char* lb_name, const char* ub_name) {
      for (Eigen::Index i = 0; i < lb.size(); ++i) {
        const std::string idx = "(" + std::to_string(i) + ")";
        if (std::isnan(lb(i)) || std::isnan(ub(i)) || lb(i) == std::numeric_limits<Scalar>::infinity() ||
            ub(i) == -std::numeric_limits<Scalar>::infinity()) {
          setup_message_ = std::string(lb_name) + idx + " / " + ub_name + idx + " is NaN or an empty infinite bound";
          return false;
        }
        // A hard component with lb > ub makes every QP infeasible; a soft one is a valid penalty.
        if (lb(i) > ub(i) && !(w(i) < std::numeric_limits<Scalar>::infinity())) {
          setup_message_ = std::string(lb_name) + idx + " = " + std::to_string(double(lb(i))) + " > " + ub_name + idx +
                           " = " + std::to_string(double(ub(i))) + " (hard bound: every QP would be infeasible)";
          return false;
        }
      }
      return true;
    };
    if (!bounds(data.u_lb, data.u_ub, data.u_soft_weight, "u_lb", "u_ub")) return false;
    if (!bounds(data.x_lb, data.x_ub, data.x_soft_weight, "x_lb", "x_ub")) return false;
    for (Eigen::Index i = 0; i < data.e.size(); ++i)
      if (std::isnan(data.e(i)) || data.e(i) == -std::numeric_limits<Scalar>::infinity()) {
        setup_message_ = "e(" + std::to_string(i) + ") is NaN or -inf";
        return false;
      }
    return true;
  }

  void allocate() {
    const Eigen::Index n = num_variables(), m = num_rows(), nx = sizes_.nx, nu = sizes_.nu, np = sizes_.np;
    theta_.setZero(np);
    data_ = Data(nx, nu, sizes_.nc);
    problem_.resize(n, 0, m);
    G_.setZero(n, nx);
    g0_.setZero(n);
    D_.setZero(m, nx);
    d0_.setZero(m);
    g_.setZero(n);
    d_.setZero(m);
    b_.resize(0);
    e_.setZero(n);
    rows_needed_.setZero(m);
    hess_.setZero(np, np);
    dX_state_.num_parameters = nx;
    dX_state_.dg.assign(size_t(nx), VectorZ::Zero(n));
    dX_state_.dd.assign(size_t(nx), VectorM::Zero(m));
    dX_.num_parameters = np;
    s_.setZero(nx);
    extra_.setZero(n);
    a_.setZero(nu);
    cz_.setZero(m);
    warm_.setZero(m);
  }

  template <typename T>
  void extract_values(const CondensedQp<T>& qp) {
    detail::take_value(qp.H, problem_.H);
    problem_.H = (Scalar(0.5) * (problem_.H + problem_.H.transpose())).eval();
    detail::take_value(qp.C, problem_.C);
    detail::take_value(qp.G, G_);
    detail::take_value(qp.g0, g0_);
    detail::take_value(qp.D, D_);
    detail::take_value(qp.d0, d0_);
    detail::take_value(qp.soft_weight, problem_.soft_weight);
    dX_.dH.clear(); dX_.dg.clear(); dX_.dC.clear(); dX_.dd.clear();
    dX_.d2H.clear(); dX_.d2g.clear(); dX_.d2C.clear(); dX_.d2d.clear();
    dG_.clear(); dg0_.clear(); dD_.clear(); dd0_.clear();
    d2G_.clear(); d2g0_.clear(); d2D_.clear(); d2d0_.clear();
    dw_.clear(); d2w_.clear();
    has_dg_ = has_dd_ = has_d2g_ = has_d2d_ = has_dw_ = has_d2w_ = has_d2w_terms_ = false;
  }

  // d(w_row)/dtheta of the exact-L1 rows (via `part`); +inf rows (hard) have none.
  template <typename T, typename Part>
  bool take_weight_derivative(const Eigen::Matrix<T, Eigen::Dynamic, 1>& w, VectorM& out, Part part) const {
    out.setZero(w.size());
    bool any = false;
    for (Eigen::Index r = 0; r < w.size(); ++r) {
      if (!std::isfinite(detail::ad_value(w(r)))) continue;
      out(r) = part(w(r));
      any |= out(r) != Scalar(0);
    }
    return any;
  }

  // A family (all i) is kept only when some member is nonzero: empty = "does not depend on
  // theta" costs nothing in the sensitivities.
  template <typename T>
  void extract_first(const CondensedQp<T>& qp) {
    const Eigen::Index np = sizes_.np;
    const auto k = size_t(np);
    dX_.dH.resize(k); dX_.dC.resize(k); dG_.resize(k); dg0_.resize(k); dD_.resize(k); dd0_.resize(k);
    dw_.resize(k);
    bool any_H = false, any_C = false;
    for (Eigen::Index i = 0; i < np; ++i) {
      const auto ii = size_t(i);
      has_dw_ |= take_weight_derivative(qp.soft_weight, dw_[ii], [i](const auto& x) { return detail::ad_first(x, i); });
      any_H |= detail::take_first(qp.H, i, dX_.dH[ii]);
      dX_.dH[ii] = (Scalar(0.5) * (dX_.dH[ii] + dX_.dH[ii].transpose())).eval();
      any_C |= detail::take_first(qp.C, i, dX_.dC[ii]);
      has_dg_ |= detail::take_first(qp.G, i, dG_[ii]);
      has_dg_ |= detail::take_first(qp.g0, i, dg0_[ii]);
      has_dd_ |= detail::take_first(qp.D, i, dD_[ii]);
      has_dd_ |= detail::take_first(qp.d0, i, dd0_[ii]);
    }
    if (!any_H) dX_.dH.clear();
    if (!any_C) dX_.dC.clear();
    dX_.dg.assign(has_dg_ || has_dw_ ? k : 0, VectorZ::Zero(num_variables()));
    dX_.dd.assign(has_dd_ ? k : 0, VectorM::Zero(num_rows()));
  }

  template <typename T>
  void extract_second(const CondensedQp<T>& qp) {
    const Eigen::Index np = sizes_.np;
    const auto k = size_t(np * np);
    dX_.d2H.resize(k); dX_.d2C.resize(k); d2G_.resize(k); d2g0_.resize(k); d2D_.resize(k); d2d0_.resize(k);
    d2w_.resize(k);
    bool any_H = false, any_C = false, any_d2w = false;
    std::vector<std::uint8_t> pairs(k, 0);
    for (Eigen::Index i = 0; i < np; ++i) {
      for (Eigen::Index j = 0; j < np; ++j) {
        const auto ij = size_t(i * np + j);
        if (j < i) {  // symmetric: copy the (j, i) entry
          const auto ji = size_t(j * np + i);
          dX_.d2H[ij] = dX_.d2H[ji]; dX_.d2C[ij] = dX_.d2C[ji];
          d2G_[ij] = d2G_[ji]; d2g0_[ij] = d2g0_[ji]; d2D_[ij] = d2D_[ji]; d2d0_[ij] = d2d0_[ji];
          d2w_[ij] = d2w_[ji];
          continue;
        }
        const bool pair_w = take_weight_derivative(qp.soft_weight, d2w_[ij],
                                                   [i, j](const auto& x) { return detail::ad_second(x, i, j); });
        any_d2w |= pair_w;
        // Saturated exact-L1 rows add w C_r' to g (stationarity), so a theta-dependent weight
        // couples with dC in the second derivative (evaluate_impl).
        const bool pair_wC = has_dw_ && ((!dw_[size_t(i)].isZero(0) && !dX_.dC.empty() && !dX_.dC[size_t(j)].isZero(0)) ||
                                         (!dw_[size_t(j)].isZero(0) && !dX_.dC.empty() && !dX_.dC[size_t(i)].isZero(0)));
        const bool pair_H = detail::take_second(qp.H, i, j, dX_.d2H[ij]);
        dX_.d2H[ij] = (Scalar(0.5) * (dX_.d2H[ij] + dX_.d2H[ij].transpose())).eval();
        const bool pair_C = detail::take_second(qp.C, i, j, dX_.d2C[ij]);
        const bool pair_g = detail::take_second(qp.G, i, j, d2G_[ij]) | detail::take_second(qp.g0, i, j, d2g0_[ij]);
        const bool pair_d = detail::take_second(qp.D, i, j, d2D_[ij]) | detail::take_second(qp.d0, i, j, d2d0_[ij]);
        any_H |= pair_H, any_C |= pair_C, has_d2g_ |= pair_g, has_d2d_ |= pair_d;
        // Pairs with no second derivative at all (e.g. the paper's b_theta and back-off
        // parameters) are skipped per state and in the sensitivities.
        pairs[ij] = pairs[size_t(j * np + i)] = std::uint8_t(pair_H || pair_C || pair_g || pair_d || pair_w || pair_wC);
        has_d2w_terms_ |= pair_w || pair_wC;
      }
    }
    dX_.second_order_pairs = pairs;
    if (!any_H) dX_.d2H.clear();
    if (!any_C) dX_.d2C.clear();
    has_d2w_ = any_d2w;
    dX_.d2g.assign(has_d2g_ || has_d2w_terms_ ? k : 0, VectorZ::Zero(num_variables()));
    dX_.d2d.assign(has_d2d_ ? k : 0, VectorM::Zero(num_rows()));
  }

  // Sizes `out` (no allocation once it has them) and zeroes what this call may not fill.
  void prepare_result(Result& out) const {
    const Eigen::Index n = num_variables(), m = num_rows(), nx = sizes_.nx, nu = sizes_.nu, np = sizes_.np;
    out.status = PolicyStatus::not_ready;
    out.qp_status = setup_status_;
    out.sensitivity_status = qp::SensitivityStatus::not_solved;
    out.state_sensitivity_status = qp::SensitivityStatus::not_solved;
    out.cost = Scalar(0);
    out.iterations = 0;
    out.u0.setZero(nu);
    out.u.setZero(sizes_.horizon * nu);
    out.slack.setZero(sizes_.ns);
    out.x.setZero(nx, sizes_.horizon + 1);
    out.du0_dtheta.setZero(nu, np);
    out.d2u0_dtheta2.setZero(nu * np, np);
    out.du0_ds.setZero(nu, nx);
    out.dz_dtheta.setZero(n, np);
    out.row_state.setZero(m);
  }

  template <typename DerivedS, typename DerivedU, typename DerivedX>
  Scalar rollout_impl(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedU>& u,
                      Eigen::MatrixBase<DerivedX>& x) const {
    const Eigen::Index nu = sizes_.nu, Nh = sizes_.horizon;
    Scalar cost(0);
    detail::assign_checked(x.col(0), s);
    for (Eigen::Index k = 0; k < Nh; ++k) {
      const auto xk = x.col(k);
      const auto uk = u.segment(k * nu, nu);
      cost += xk.dot(data_.Q * xk) + data_.q.dot(xk) + uk.dot(data_.R * uk) + data_.r.dot(uk);
      cost += stage_penalty(data_, xk, uk);
      x.col(k + 1).noalias() = data_.A * xk;
      x.col(k + 1).noalias() += data_.B * uk;
      x.col(k + 1) += data_.b;
    }
    const auto xN = x.col(Nh);
    cost += xN.dot(data_.P * xN) + data_.p.dot(xN);
    return cost;
  }

  // s (= s_, checked) and extra_ (when with_extra) are members: no conversion here.
  void evaluate_impl(const VectorX& s, const PolicyRequest& request, bool with_extra, Result& out) {
    prepare_result(out);
    if (setup_status_ != qp::Status::optimal) return;

    g_.noalias() = G_ * s;
    g_ += g0_;
    if (with_extra) g_ += extra_;
    d_.noalias() = D_ * s;
    d_ += d0_;
    solver_.update_linear_terms(g_, b_, d_);
    const bool warm = request.warm_start && have_warm_start_;
    const auto& res = warm ? solver_.solve(warm_) : solver_.solve();
    out.qp_status = res.status;
    out.iterations = res.iterations;
    if (res.status != qp::Status::optimal) {
      out.status = PolicyStatus::solver_failed;
      have_warm_start_ = false;
      return;
    }
    warm_ = res.row_state;
    have_warm_start_ = true;
    out.row_state = res.row_state;
    out.u = res.z.head(sizes_.horizon * sizes_.nu);
    out.slack = res.z.tail(sizes_.ns);
    out.u0 = res.z.head(sizes_.nu);
    out.cost = rollout_impl(s, out.u, out.x);
    out.status = PolicyStatus::ok;

    bool weak = false, failed = false;
    auto account = [&weak, &failed](qp::SensitivityStatus st) {
      if (st == qp::SensitivityStatus::weakly_active) weak = true;
      else if (st != qp::SensitivityStatus::ok) failed = true;
    };
    const bool first = request.du0_dtheta && settings_.derivative_order >= 1 && sizes_.np > 0;
    if (first) {
      // The sensitivities read dd, d2d only at working-set rows, a subset of the rows the solver
      // left active or saturated unless weakly active inactive rows may join (keep_active).
      // Inactive rows at zero slack are read too: Sensitivity checks them (dependent and
      // weakly active rows), so they are refreshed with a tolerance looser than its own.
      num_rows_needed_ = 0;
      const bool all_rows = settings_.sensitivity.weak_rows == qp::WeakRowChoice::keep_active;
      cz_.noalias() = problem_.C * res.z;
      const Scalar zero_slack = std::max(Scalar(1e-6), Scalar(1e3) * settings_.sensitivity.weak_tolerance);
      for (Eigen::Index r = 0; r < num_rows(); ++r)
        if (all_rows || res.row_state(r) != std::int8_t(qp::RowState::inactive) ||
            std::abs(cz_(r) - d_(r)) <= zero_slack * (Scalar(1) + std::abs(d_(r)) + std::abs(cz_(r))))
          rows_needed_(num_rows_needed_++) = int(r);
      const Eigen::Index np = sizes_.np;
      for (Eigen::Index i = 0; i < np; ++i) {
        const auto ii = size_t(i);
        if (has_dg_) { dX_.dg[ii].noalias() = dG_[ii] * s; dX_.dg[ii] += dg0_[ii]; }
        else if (has_dw_) dX_.dg[ii].setZero();
        if (has_dd_) affine_rows(dD_[ii], dd0_[ii], s, dX_.dd[ii]);
      }
      if (has_dw_)  // saturated rows: d(w_r C_r') = dw_r C_r' + w_r dC_r' (the latter in Sensitivity)
        for (Eigen::Index r = 0; r < num_rows(); ++r)
          if (res.row_state(r) == std::int8_t(qp::RowState::saturated))
            for (Eigen::Index i = 0; i < np; ++i) dX_.dg[size_t(i)] += dw_[size_t(i)](r) * problem_.C.row(r).transpose();
      const bool second = request.d2u0_dtheta2 && settings_.derivative_order >= 2;
      if (second) {
        for (Eigen::Index i = 0; i < np; ++i) {
          for (Eigen::Index j = i; j < np; ++j) {
            // Sensitivity reads only the entry (first index >= second) of each pair: fill that one.
            const auto lo = size_t(j * np + i);
            if (!dX_.pair_present(i, j)) continue;
            if (has_d2g_) { dX_.d2g[lo].noalias() = d2G_[lo] * s; dX_.d2g[lo] += d2g0_[lo]; }
            else if (has_d2w_terms_) dX_.d2g[lo].setZero();
            if (has_d2w_terms_) add_weight_second_order(res.row_state, i, j, dX_.d2g[lo]);
            if (has_d2d_) affine_rows(d2D_[lo], d2d0_[lo], s, dX_.d2d[lo]);
          }
        }
      }
      sensitivity_.compute(solver_, dX_, settings_.sensitivity);
      out.sensitivity_status = sensitivity_.info();
      account(out.sensitivity_status);
      if (sensitivity_usable(out.sensitivity_status)) {
        out.du0_dtheta = sensitivity_.dz_dtheta().topRows(sizes_.nu);
        if (request.dz_dtheta) out.dz_dtheta = sensitivity_.dz_dtheta();
        if (second) {
          for (Eigen::Index j = 0; j < sizes_.nu; ++j) {
            e_.setZero();
            e_(j) = Scalar(1);
            sensitivity_.functional_hessian(e_, hess_);
            out.d2u0_dtheta2.middleRows(j * np, np) = hess_;
          }
        }
      }
    }
    if (request.du0_ds) {
      state_sensitivity_.compute(solver_, dX_state_, settings_.sensitivity);
      out.state_sensitivity_status = state_sensitivity_.info();
      account(out.state_sensitivity_status);
      if (sensitivity_usable(out.state_sensitivity_status))
        out.du0_ds = state_sensitivity_.dz_dtheta().topRows(sizes_.nu);
    }
    if (failed) out.status = PolicyStatus::sensitivity_failed;
    else if (weak) out.status = PolicyStatus::weakly_active;
  }

  // Second derivative of the saturated rows' w_r C_r' beyond w_r d2C_r' (in Sensitivity):
  // d2w_r,ij C_r' + dw_r,i dC_j,r' + dw_r,j dC_i,r'.
  template <typename RowStates, typename Out>
  void add_weight_second_order(const RowStates& row_state, Eigen::Index i, Eigen::Index j, Out& out) const {
    const auto ij = size_t(i * sizes_.np + j);
    for (Eigen::Index r = 0; r < num_rows(); ++r) {
      if (row_state(r) != std::int8_t(qp::RowState::saturated)) continue;
      if (has_d2w_) out += d2w_[ij](r) * problem_.C.row(r).transpose();
      if (!dX_.dC.empty()) {
        out += dw_[size_t(i)](r) * dX_.dC[size_t(j)].row(r).transpose();
        out += dw_[size_t(j)](r) * dX_.dC[size_t(i)].row(r).transpose();
      }
    }
  }

  // out(r) = D.row(r) s + d0(r) for the rows in rows_needed_ (others stay stale, unread).
  void affine_rows(const MatrixMX& D, const VectorM& d0, const VectorX& s, VectorM& out) const {
    for (Eigen::Index t = 0; t < num_rows_needed_; ++t) {
      const Eigen::Index r = rows_needed_(t);
      out(r) = D.row(r).dot(s) + d0(r);
    }
  }

  static bool sensitivity_usable(qp::SensitivityStatus st) {
    return st == qp::SensitivityStatus::ok || st == qp::SensitivityStatus::weakly_active;
  }

  Settings settings_;
  LqSizes sizes_;
  ModelFunction<Scalar> model_value_;
  ModelFunction<Ad1> model_ad1_;
  ModelFunction<Ad2> model_ad2_;

  VectorTheta theta_;
  Data data_;
  qp::Status setup_status_ = qp::Status::invalid_input;
  std::string setup_message_ = "set_parameters() was not called";
  qp::Problem<Scalar, NZ, Eigen::Dynamic, M> problem_;
  MatrixZX G_;
  VectorZ g0_;
  MatrixMX D_;
  VectorM d0_;
  std::vector<MatrixZX> dG_, d2G_;
  std::vector<VectorZ> dg0_, d2g0_;
  std::vector<MatrixMX> dD_, d2D_;
  std::vector<VectorM> dd0_, d2d0_;
  bool has_dg_ = false, has_dd_ = false, has_d2g_ = false, has_d2d_ = false;
  // Theta-derivatives of the exact-L1 row weights (empty when constant): a saturated row
  // contributes w_r C_r' to the QP gradient, so dw_r C_r' enters dg (and d2g, with dC).
  std::vector<VectorM> dw_, d2w_;
  bool has_dw_ = false, has_d2w_ = false, has_d2w_terms_ = false;
  ThetaDerivatives dX_;
  qp::ProblemDerivatives<Scalar, NZ, Eigen::Dynamic, M> dX_state_;

  Solver solver_;
  FixedInputSolver fixed_solver_;
  bool fixed_ready_ = false;
  qp::Sensitivity<Scalar, NZ, Eigen::Dynamic, M, NP> sensitivity_;
  qp::Sensitivity<Scalar, NZ, Eigen::Dynamic, M, NX> state_sensitivity_;
  typename Solver::RowStates warm_;
  bool have_warm_start_ = false;

  // Per-state work vectors (preallocated).
  VectorZ g_;
  VectorM d_;
  // Equality rows: none (dynamic size 0, no storage; a compile-time 0 is not supported by qp).
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> b_;
  VectorZ e_;
  Eigen::Matrix<int, M, 1> rows_needed_;  ///< rows whose dd, d2d are refreshed per state
  Eigen::Index num_rows_needed_ = 0;
  Eigen::Matrix<Scalar, NP, NP> hess_;
  VectorX s_;       ///< the state of the current call (checked, converted once)
  VectorZ extra_;   ///< extra linear cost of the current call
  VectorU a_;       ///< q_value's u_0
  VectorM cz_;      ///< C z of the current solution (zero-slack rows)
};

}  // namespace rmpc::mpc
