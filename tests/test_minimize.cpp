// minimize (optim/minimize.hpp): the deterministic driver runs TrustRegion's ask/tell loop
// verbatim (same iterates to the last bit, same status and counts), and its result fields
// describe the point it returns.
#include <rmpc/optim/minimize.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"

#include <Eigen/Dense>

#include <vector>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;
using rmpc::testing::rosenbrock;
using rmpc::testing::unconstrained_settings;

TEST_CASE("minimize: the ask/tell loop of TrustRegion, reproduced exactly", "[minimize]") {
  const V2 x0(-1.2, 1.0);
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs}) {
    std::vector<V2> ref;
    const auto r = minimize(rosenbrock, x0, model, unconstrained_settings(), &ref);
    TrustRegion<double, 2> tr(model, unconstrained_settings());
    V2 g;
    M2 H;
    tr.reset(x0, rosenbrock(x0, &g, &H));
    auto tell = [&] {
      model == TrustRegionModel::bfgs ? tr.tell_gradient(g) : tr.tell_model(g, H);
    };
    tell();
    std::vector<V2> mine{x0};
    while (tr.status() == Status::running) {
      const V2 p = tr.ask().step;
      if (tr.status() != Status::running) break;
      V2 gt;
      M2 Ht;
      const double J = rosenbrock(tr.x() + p, &gt, &Ht);
      if (tr.tell_value(J).accepted) {
        g = gt;
        H = Ht;
        mine.push_back(tr.x());
        if (tr.status() == Status::running) tell();
      }
    }
    REQUIRE(mine.size() == ref.size());
    for (size_t k = 0; k < ref.size(); ++k) CHECK((mine[k].array() == ref[k].array()).all());
    CHECK(tr.status() == r.status);
    CHECK(tr.iterations() == r.iterations);
  }
}

TEST_CASE("minimize: result fields on a convex quadratic, every curvature model", "[minimize]") {
  int calls = 0;
  auto f = [&](const V2& x, V2* g, M2* H) {
    ++calls;
    if (g) *g = rmpc::testing::quad_grad(x);
    if (H) *H = rmpc::testing::quadratic_hessian();
    return rmpc::testing::quad(x);
  };
  for (auto model :
       {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs, TrustRegionModel::gauss_newton}) {
    INFO(int(model));
    calls = 0;
    std::vector<V2> iterates;
    const auto r = minimize(f, V2(-2.0, 3.0), model, unconstrained_settings(), &iterates);
    CHECK(r.status == Status::converged_gradient);
    CHECK((r.x - rmpc::testing::quadratic_minimiser()).norm() < 1e-9);
    CHECK(r.value == rmpc::testing::quad(r.x));
    CHECK((r.gradient - rmpc::testing::quad_grad(r.x)).norm() == 0.0);
    CHECK(r.evaluations == calls);
    CHECK(r.evaluations == r.iterations + 1);          // one evaluation per trial after the first
    CHECK(iterates.size() == size_t(r.accepted) + 1);  // x0 and every accepted point
    CHECK((iterates.back() - r.x).norm() == 0.0);
    CHECK((iterates.front() - V2(-2.0, 3.0)).norm() == 0.0);
  }
}
