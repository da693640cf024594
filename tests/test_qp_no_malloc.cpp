// Fixed-size QPs solve and differentiate with no heap allocation (EIGEN_RUNTIME_NO_MALLOC
// makes any Eigen allocation inside the guarded region abort the test).
// The check is an eigen_assert: keep it on in Release builds too.
#undef NDEBUG
#define EIGEN_RUNTIME_NO_MALLOC
#include "rmpc_catch.hpp"

#include "rmpc/qp/sensitivity.hpp"
#include "rmpc/qp/two_sided.hpp"

#include <random>

namespace {
constexpr int n = 10, p = 1, m = 30, np = 4;
using Problem = rmpc::qp::Problem<double, n, p, m>;
using Solver = rmpc::qp::DenseSolver<double, n, p, m>;
using Derivs = rmpc::qp::ProblemDerivatives<double, n, p, m>;
using Sens = rmpc::qp::Sensitivity<double, n, p, m, np>;

Problem make_problem(std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Problem pr;
  Eigen::Matrix<double, n, n> a;
  for (int i = 0; i < a.size(); ++i) a.data()[i] = nd(rng);
  pr.H = a * a.transpose() / n + Eigen::Matrix<double, n, n>::Identity();
  for (int i = 0; i < n; ++i) pr.g(i) = 5 * nd(rng);
  for (int i = 0; i < n; ++i) pr.A(0, i) = nd(rng);
  pr.b(0) = 0;
  for (int i = 0; i < pr.C.size(); ++i) pr.C.data()[i] = nd(rng);
  for (int i = 0; i < m; ++i) pr.d(i) = 0.5;
  for (int i = 0; i < m; i += 3) pr.soft_weight(i) = 2.0;
  return pr;
}
}  // namespace

TEST_CASE("fixed-size solve, warm start and sensitivities allocate nothing", "[qp][no_malloc]") {
  std::mt19937_64 rng(21);
  const Problem pr = make_problem(rng);
  Derivs dx;
  dx.resize(np, n, p, m, true);
  for (int i = 0; i < np; ++i) {
    dx.dg[size_t(i)].setConstant(0.1 * (i + 1));
    dx.dd[size_t(i)].setConstant(-0.05 * i);
    dx.dC[size_t(i)].setConstant(0.01);
    dx.dH[size_t(i)].setIdentity();
  }
  Solver solver;
  Sens sens;
  Eigen::Matrix<double, np, np> hess;
  Eigen::Matrix<double, n, 1> e = Eigen::Matrix<double, n, 1>::Unit(0);
  rmpc::qp::Settings<double> settings;
  solver.compute(pr);  // first call may size the (fixed) storage: no dynamic members anyway

  // update_linear_terms checks the arguments' sizes as given and then evaluates them into
  // fixed-size storage: plain vectors and expressions alike allocate nothing.
  const Eigen::Matrix<double, m, 1> d_half = 0.5 * pr.d;

  Eigen::internal::set_is_malloc_allowed(false);
  solver.compute(pr);
  solver.update_linear_terms(2.0 * pr.g, pr.b, d_half + d_half);
  REQUIRE(solver.info() == rmpc::qp::Status::optimal);
  CHECK(solver.problem().g == 2.0 * pr.g);
  solver.update_linear_terms(pr.g, pr.b, pr.d);
  const auto& cold = solver.solve();
  const auto states = cold.row_state;
  const auto& warm = solver.solve(states);
  sens.compute(solver, dx);
  sens.functional_hessian(e, hess);
  Eigen::internal::set_is_malloc_allowed(true);

  REQUIRE(warm.status == rmpc::qp::Status::optimal);
  CHECK(warm.num_active() >= 1);
  CHECK(sens.info() == rmpc::qp::SensitivityStatus::ok);
  CHECK(std::abs(hess(1, 2) - sens.d2z_dtheta2(1, 2)(0)) <= 1e-10 * (1 + std::abs(hess(1, 2))));
  (void)settings;
}

// A compile-time count of zero rows (no inequality rows, M = 0; no equality rows, P = 0)
// compiles, solves and differentiates like any fixed size, allocation-free. 1/2 |z|^2 + g'z
// in three variables; the values by hand.
namespace {
struct ZeroRowsOutcome {
  rmpc::qp::Status status;
  rmpc::qp::SensitivityStatus sensitivity;
  Eigen::Vector3d z, dz, d2z;  ///< d2z and e_0'd2z: of the first parameter pair
  double e0_d2z;
};

// Solves pr (identity H) and differentiates it along one parameter, the solve, the
// sensitivities and the functional Hessian with allocation forbidden.
template <int P, int M>
ZeroRowsOutcome solve_zero_rows(const rmpc::qp::Problem<double, 3, P, M>& pr,
                                const rmpc::qp::ProblemDerivatives<double, 3, P, M>& dx) {
  rmpc::qp::DenseSolver<double, 3, P, M> solver;
  rmpc::qp::Sensitivity<double, 3, P, M, 1> sens;
  Eigen::Matrix<double, 1, 1> hess;
  solver.compute(pr);
  Eigen::internal::set_is_malloc_allowed(false);
  const auto& res = solver.solve();
  sens.compute(solver, dx);
  sens.functional_hessian(Eigen::Vector3d::Unit(0), hess);
  Eigen::internal::set_is_malloc_allowed(true);
  const bool second = !dx.d2g.empty();
  return {res.status,
          sens.info(),
          res.z,
          sens.dz_dtheta(),
          second ? Eigen::Vector3d(sens.d2z_dtheta2(0, 0)) : Eigen::Vector3d::Zero(),
          hess(0, 0)};
}
}  // namespace

TEST_CASE("fixed sizes with M = 0 or P = 0 solve and differentiate, allocating nothing",
          "[qp][no_malloc]") {
  using V3 = Eigen::Vector3d;
  const V3 g(1, -2, 0.5);
  using rmpc::qp::SensitivityStatus;
  using rmpc::qp::Status;
  {  // M = 0: one equality 1'z = 0.5, whose multiplier is 0 at z = -g.
    rmpc::qp::Problem<double, 3, 1, 0> pr(3, 1, 0);
    pr.H.setIdentity();
    pr.g = g;
    pr.A.setOnes();
    pr.b << 0.5;
    rmpc::qp::ProblemDerivatives<double, 3, 1, 0> dx;
    dx.resize(1, 3, 1, 0, true);
    dx.dg[0] = V3::Unit(0);
    dx.d2g[0] = V3::Unit(1);
    const ZeroRowsOutcome out = solve_zero_rows(pr, dx);
    REQUIRE(out.status == Status::optimal);
    CHECK((out.z - V3(-1, 2, -0.5)).norm() <= 1e-14);
    REQUIRE(out.sensitivity == SensitivityStatus::ok);
    // dz = -(I - 11'/3) dg: the gradient's component in the equality's null space.
    CHECK((out.dz - V3(-2, 1, 1) / 3).norm() <= 1e-14);
    CHECK((out.d2z - V3(1, -2, 1) / 3).norm() <= 1e-14);
    CHECK(std::abs(out.e0_d2z - 1.0 / 3) <= 1e-14);
  }
  {  // P = 0 and M = 0: unconstrained, dz = -dg.
    rmpc::qp::Problem<double, 3, 0, 0> pr(3, 0, 0);
    pr.H.setIdentity();
    pr.g = g;
    rmpc::qp::ProblemDerivatives<double, 3, 0, 0> dx;
    dx.resize(1, 3, 0, 0, false);
    dx.dg[0] = V3(0, 1, 2);
    const ZeroRowsOutcome out = solve_zero_rows(pr, dx);
    REQUIRE(out.status == Status::optimal);
    CHECK((out.z + g).norm() <= 1e-14);
    REQUIRE(out.sensitivity == SensitivityStatus::ok);
    CHECK((out.dz - V3(0, -1, -2)).norm() <= 1e-14);
  }
  {  // P = 0: rows 1'z <= 0.5 and -z_0 <= 0.2, both active at z = (-0.2, 1.6, -0.9); dz moves
     // only in their null space (0, 1, -1).
    rmpc::qp::Problem<double, 3, 0, 2> pr(3, 0, 2);
    pr.H.setIdentity();
    pr.g = g;
    pr.C << 1, 1, 1, -1, 0, 0;
    pr.d << 0.5, 0.2;
    rmpc::qp::ProblemDerivatives<double, 3, 0, 2> dx;
    dx.resize(1, 3, 0, 2, false);
    dx.dg[0] = V3(0, 1, -1);
    const ZeroRowsOutcome out = solve_zero_rows(pr, dx);
    REQUIRE(out.status == Status::optimal);
    CHECK((out.z - V3(-0.2, 1.6, -0.9)).norm() <= 1e-14);
    REQUIRE(out.sensitivity == SensitivityStatus::ok);
    CHECK((out.dz - V3(0, -1, 1)).norm() <= 1e-14);
  }
}

// Dynamic sizes: after the set-up (compute() and a first solve size every buffer), solves
// with new linear terms, cold and warm, allocate nothing. The anchor QP nx = 8, N = 10 has
// bound rows, mirrored rows and active sets of many sizes along a closed loop.
#include "support/anchor_qps.hpp"

// Counts every operator new of this executable (std::string, std::vector, ...); the Release
// build counts, the AddressSanitizer build only checks Eigen (support/counting_new.hpp).
#include "support/counting_new.hpp"

TEST_CASE("dynamic-size solves allocate nothing after set-up", "[qp][no_malloc]") {
  namespace anchor = rmpc::testing::anchor;
  const anchor::System sys = anchor::system_nx8();
  const anchor::Condensed c = anchor::condense(sys, 10);
  const std::vector<Eigen::VectorXd> x0s = anchor::initial_states(sys, 60);
  std::vector<Eigen::VectorXd> gs, ds;
  for (const auto& x0 : x0s) gs.push_back(c.g(x0)), ds.push_back(c.d(x0));
  rmpc::qp::Problem<double> pr = c.problem;
  pr.g = gs[0];
  pr.d = ds[0];
  rmpc::qp::DenseSolver<double> solver;
  solver.compute(pr);
  (void)solver.solve();  // sizes the result
  const Eigen::VectorXd b(0);
  Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> guess = solver.result().row_state;
  int optimal = 0, infeasible = 0, active = 0, allocating_optimal_solves = 0;

  // Only a failed solve builds a message (a std::string): optimal ones must not allocate.
  Eigen::internal::set_is_malloc_allowed(false);
  for (size_t k = 0; k < gs.size(); ++k) {
    long before = rmpc_test::operator_new_calls().load();
    solver.update_linear_terms(gs[k], b, ds[k]);
    const auto& cold = solver.solve();
    if (cold.status == rmpc::qp::Status::optimal) {
      ++optimal, active += cold.num_active() > 0;
      allocating_optimal_solves += rmpc_test::operator_new_calls().load() != before;
    }
    if (cold.status == rmpc::qp::Status::infeasible) ++infeasible;
    before = rmpc_test::operator_new_calls().load();
    const auto& warm = solver.solve(guess);  // warm from the previous x0's answer
    if (warm.status == rmpc::qp::Status::optimal)
      allocating_optimal_solves += rmpc_test::operator_new_calls().load() != before;
    guess = solver.result().row_state;
  }
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(allocating_optimal_solves == 0);
  CHECK(optimal + infeasible == int(gs.size()));
  CHECK(active > 0);
  CHECK(infeasible > 0);
}

TEST_CASE("two-sided solves allocate nothing after set-up", "[qp][no_malloc]") {
  // Bounds on every input and two-sided state rows of the anchor QP (nx = 2, N = 10): the
  // one-sided rows, the map back and the warm-start guess all live in storage sized by
  // compute().
  namespace anchor = rmpc::testing::anchor;
  const anchor::System sys = anchor::system_nx2();
  const anchor::Condensed c = anchor::condense(sys, 10);
  const Eigen::Index n = c.n();
  rmpc::qp::TwoSidedProblem<double> q(n, 0, c.m_state());
  q.H = c.problem.H;
  q.g = c.g(anchor::initial_states(sys, 1)[0]);
  q.C = c.Su;  // the states' response to the inputs
  q.lb.setConstant(-1.0);
  q.ub.setConstant(1.0);
  q.l.setConstant(-1.0);
  q.u.setConstant(1.0);
  rmpc::qp::TwoSidedSolver<double> solver;
  solver.compute(q);
  (void)solver.solve();  // sizes the result
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  const Eigen::VectorXd b(0);
  Eigen::VectorXd g = q.g, l = q.l, u = q.u;
  int optimal = 0, active_bounds = 0, active_rows = 0, allocating_optimal_solves = 0;
  Eigen::internal::set_is_malloc_allowed(false);
  for (int k = 0; k < 40; ++k) {
    for (Eigen::Index j = 0; j < n; ++j) g(j) = 3.0 * nd(rng);
    for (Eigen::Index i = 0; i < l.size(); ++i) u(i) = 0.05 + 0.02 * k, l(i) = -u(i);
    long before = rmpc_test::operator_new_calls().load();
    solver.update_linear_terms(g, b, q.lb, q.ub, l, u);
    const auto& cold = solver.solve();
    if (cold.ok()) {
      ++optimal;
      for (auto s : cold.bound_state) active_bounds += s != rmpc::qp::SideState::inactive;
      for (auto s : cold.row_state) active_rows += s != rmpc::qp::SideState::inactive;
      allocating_optimal_solves += rmpc_test::operator_new_calls().load() != before;
      before = rmpc_test::operator_new_calls().load();
      const auto& warm = solver.solve(cold.bound_state, cold.row_state);
      allocating_optimal_solves += warm.ok() && rmpc_test::operator_new_calls().load() != before;
    }
  }
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(allocating_optimal_solves == 0);
  CHECK(optimal == 40);
  CHECK(active_bounds > 0);
  CHECK(active_rows > 0);
}
