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
// Argument checks and statuses: detail/lq_mpc_checks.hpp.
#pragma once

#include "rmpc/mpc/autodiff.hpp"
#include "rmpc/mpc/condensing.hpp"
#include "rmpc/mpc/detail/lq_mpc_compiled.hpp"
#include "rmpc/mpc/model.hpp"
#include "rmpc/mpc/policy_result.hpp"
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
///
/// MaxOrder: the highest derivative order this type can provide (a compile-time bound on
/// LqMpcSettings::derivative_order). 2 (default): du0/dtheta, d2u0/dtheta2 and du0/ds; 1: no
/// d2u0/dtheta2 (no nested AutoDiffScalar); 0: values only (u_0*, the plan, q_value), e.g. a
/// fixed benchmark MPC: no AutoDiffScalar and no Sensitivity is compiled, which saves most
/// of the type's compile time.
template <typename Scalar, int NX, int NU, int N, int NP, int NC = 0, int NS = 0, int MaxOrder = 2>
class LqMpc {
  static_assert(MaxOrder >= 0 && MaxOrder <= 2, "LqMpc: MaxOrder must be 0, 1 or 2");
  using Unused = detail::NotCompiled;

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
  // One solver type for the policy and for q_value() (u_0 = a as nu equality rows).
  using Solver = qp::DenseSolver<Scalar, NZ, Eigen::Dynamic, M>;
  // One Sensitivity type, with a run-time parameter count, for theta (np) and for the state
  // (nx): one instantiation (~6 s of compile time each), two objects (each keeps its sizes, so
  // neither reallocates per call).
  using PolicySensitivity =
      std::conditional_t<(MaxOrder >= 1),
                         qp::Sensitivity<Scalar, NZ, Eigen::Dynamic, M, Eigen::Dynamic>, Unused>;
  using Result = PolicyResult<Scalar, NX, NU, N, NP, NZ, M, NS>;
  using QResult = QValueResult<Scalar, NX, NU, N>;
  using Settings = LqMpcSettings<Scalar>;
  template <typename T>
  using ModelFunction = std::function<void(const Eigen::Matrix<T, NP, 1>&, LqData<T, NX, NU, NC>&)>;

  /// `model` is the user's functor (model.hpp); `sizes` are needed only for dynamic sizes and
  /// must agree with the compile-time ones.
  template <typename Model>
  explicit LqMpc(const Model& model, const LqSizes& sizes = default_sizes(),
                 const Settings& settings = {});

  /// The compile-time sizes (0 where Eigen::Dynamic).
  static LqSizes default_sizes();

  const LqSizes& sizes() const { return sizes_; }
  /// QP variables: N nu inputs, then the slack variables.
  Eigen::Index num_variables() const { return sizes_.horizon * sizes_.nu + sizes_.ns; }
  Eigen::Index num_rows() const { return row_layout().rows(); }
  /// Which QP row is which (e.g. in Result::row_state): the condensed row order.
  CondensedRowLayout row_layout() const {
    return {sizes_.nx, sizes_.nu, sizes_.horizon, sizes_.nc, sizes_.ns};
  }

  /// Rebuilds the condensed QP and its theta-derivatives at theta (once per theta; allocates;
  /// the theta of the last successful call again costs nothing and forgets the warm start).
  /// Returns the factorization status: optimal (ready), non_convex, or invalid_input (a NaN/Inf
  /// theta, a negative soft weight or a hard u_lb > u_ub at this theta, ...; setup_message()
  /// names the cause). These are statuses, never thrown: theta may come from a learning step.
  /// A theta of the wrong size, or a model that writes data of the wrong sizes, is a
  /// programmer error: std::invalid_argument naming the argument / field.
  template <typename DerivedTheta>
  qp::Status set_parameters(const Eigen::MatrixBase<DerivedTheta>& theta);

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
  void exploration_cost(const Eigen::MatrixBase<DerivedD>& d,
                        const Eigen::MatrixBase<DerivedOut>& out_) const;

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
    detail::LqMpcPolicy<LqMpc>::evaluate(*this, s_, request, false, out);
  }
  template <typename DerivedS, typename DerivedG>
  void evaluate(const Eigen::MatrixBase<DerivedS>& s, const PolicyRequest& request,
                const Eigen::MatrixBase<DerivedG>& extra_g, Result& out) {
    take_state(s, "LqMpc::evaluate");
    check_vector(extra_g, num_variables(), "LqMpc::evaluate", "extra_g", "num_variables()");
    if (!extra_g.allFinite())
      throw std::invalid_argument("LqMpc::evaluate: extra_g has NaN/Inf entries");
    detail::assign_checked(extra_, extra_g);
    detail::LqMpcPolicy<LqMpc>::evaluate(*this, s_, request, true, out);
  }

  /// Q_theta(s, a): optimal MPC cost with u_0 = a (equality row; separate solver so that the
  /// policy's warm start is untouched). Returned by value.
  template <typename DerivedS, typename DerivedA>
  QResult q_value(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedA>& a) {
    take_state(s, "LqMpc::q_value");
    check_vector(a, sizes_.nu, "LqMpc::q_value", "a", "nu");
    if (!a.allFinite()) throw std::invalid_argument("LqMpc::q_value: a has NaN/Inf entries");
    detail::assign_checked(a_, a);
    return detail::LqMpcPolicy<LqMpc>::q_value(*this);
  }

  /// Cost of the input sequence u (N nu entries) from s under the model at the current theta
  /// (x, nx x (N+1), is filled with the predicted states; a resizable x is resized):
  /// sum_k x'Qx + q'x + u'Ru + r'u + penalties + x_N'P x_N + p'x_N.
  template <typename DerivedS, typename DerivedU, typename DerivedX>
  Scalar rollout(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedU>& u,
                 Eigen::MatrixBase<DerivedX>& x) const {
    check_vector(s, sizes_.nx, "LqMpc::rollout", "s", "nx");
    check_vector(u, sizes_.horizon * sizes_.nu, "LqMpc::rollout", "u", "horizon * nu");
    detail::resize_if_possible(x, sizes_.nx, sizes_.horizon + 1);
    if (x.rows() != sizes_.nx || x.cols() != sizes_.horizon + 1)
      throw std::invalid_argument("LqMpc::rollout: x is " + std::to_string(x.rows()) + "x" +
                                  std::to_string(x.cols()) +
                                  ", expected nx x (horizon + 1) = " + std::to_string(sizes_.nx) +
                                  "x" + std::to_string(sizes_.horizon + 1));
    return rollout_impl(s, u, x);
  }

 private:
  // The heavy members, reached through detail/lq_mpc_compiled.hpp (compiled once per program).
  template <typename, typename>
  friend struct detail::LqMpcConstruct;
  template <typename>
  friend struct detail::LqMpcSetup;
  template <typename>
  friend struct detail::LqMpcPolicy;
  template <typename Model>
  void construct_impl(const Model& model);
  qp::Status set_parameters_checked(const VectorTheta& theta_in);
  QResult q_value_impl();
  using ThetaDerivatives = qp::ProblemDerivatives<Scalar, NZ, Eigen::Dynamic, M>;

  void check_sizes() const;

  template <typename Derived>
  static void check_vector(const Eigen::MatrixBase<Derived>& v, Eigen::Index n, const char* where,
                           const char* name, const char* what) {
    if (v.cols() != 1 || v.rows() != n)
      throw std::invalid_argument(std::string(where) + ": " + name + " is " +
                                  std::to_string(v.rows()) + "x" + std::to_string(v.cols()) +
                                  ", expected a vector of " + what + " = " + std::to_string(n) +
                                  " entries");
  }

  // Checks the size of s (before any conversion to VectorX) and copies it into s_.
  template <typename Derived>
  void take_state(const Eigen::MatrixBase<Derived>& s, const char* where) {
    check_vector(s, sizes_.nx, where, "s", "nx");
    if (!s.allFinite())
      throw std::invalid_argument(std::string(where) + ": state s has NaN/Inf entries");
    detail::assign_checked(s_, s);
  }

  // Every field the model writes must keep its size (dynamic sizes: a model may resize).
  template <typename ModelData>
  void check_model_sizes(const ModelData& data) const;

  // Values the QP cannot take, as a status with the field named in setup_message_.
  bool check_model_values(const Data& data);

  void allocate();

  template <typename T>
  void extract_values(const CondensedQp<T>& qp);

  // d(w_row)/dtheta of the exact-L1 rows (via `part`); +inf rows (hard) have none.
  template <typename T, typename Part>
  bool take_weight_derivative(const Eigen::Matrix<T, Eigen::Dynamic, 1>& w, VectorM& out,
                              Part part) const;

  // A family (all i) is kept only when some member is nonzero: empty = "does not depend on
  // theta" costs nothing in the sensitivities.
  template <typename T>
  void extract_first(const CondensedQp<T>& qp);

  template <typename T>
  void extract_second(const CondensedQp<T>& qp);

  // Sizes `out` (no allocation once it has them) and zeroes what this call may not fill.
  void prepare_result(Result& out) const;

  template <typename DerivedS, typename DerivedU, typename DerivedX>
  Scalar rollout_impl(const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedU>& u,
                      Eigen::MatrixBase<DerivedX>& x) const;

  // s (= s_, checked) and extra_ (when with_extra) are members: no conversion here.
  void evaluate_impl(const VectorX& s, const PolicyRequest& request, bool with_extra, Result& out);

  // out(r) = D.row(r) s + d0(r) for the rows in rows_needed_ (others stay stale, unread).
  void affine_rows(const MatrixMX& D, const VectorM& d0, const VectorX& s, VectorM& out) const;

  static bool sensitivity_usable(qp::SensitivityStatus st);

  Settings settings_;
  LqSizes sizes_;
  ModelFunction<Scalar> model_value_;
  std::conditional_t<(MaxOrder == 1), ModelFunction<Ad1>, Unused> model_ad1_;
  std::conditional_t<(MaxOrder >= 2), ModelFunction<Ad2>, Unused> model_ad2_;

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
  // The exact-L1 row weights depend on theta (dX_.dw, dX_.d2w; Sensitivity differentiates the
  // saturated rows' w_r C_r' whole).
  bool has_dw_ = false;
  ThetaDerivatives dX_;
  qp::ProblemDerivatives<Scalar, NZ, Eigen::Dynamic, M> dX_state_;

  Solver solver_;
  Solver fixed_solver_;
  bool fixed_ready_ = false;
  PolicySensitivity sensitivity_;
  PolicySensitivity state_sensitivity_;
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
  VectorX s_;      ///< the state of the current call (checked, converted once)
  VectorZ extra_;  ///< extra linear cost of the current call
  VectorU a_;      ///< q_value's u_0
  VectorM cz_;     ///< C z of the current solution (zero-slack rows)
};

}  // namespace rmpc::mpc

// The member definitions (out of the class body: see detail/lq_mpc_setup.hpp).
#include "rmpc/mpc/detail/lq_mpc_checks.hpp"
#include "rmpc/mpc/detail/lq_mpc_setup.hpp"
#include "rmpc/mpc/detail/lq_mpc_evaluate.hpp"
