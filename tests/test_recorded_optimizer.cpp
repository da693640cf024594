// RecordedOptimizer (optim/recorded_optimizer.hpp): replaying the record of a run into a fresh
// optimizer rebuilds its state to the last bit (point, value, radius, status, the next step),
// for every update rule; the call names round-trip; a record that does not fit is named.
#include <rmpc/optim/recorded_optimizer.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Dense>

#include <stdexcept>
#include <vector>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using rmpc::testing::quad;
using rmpc::testing::quad_grad;

TEST_CASE("RecordedOptimizer: a replayed record continues exactly as the recorder",
          "[recorded_optimizer]") {
  for (UpdateRule rule :
       {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::qn, UpdateRule::tr_qn, UpdateRule::tr_bfgs,
        UpdateRule::tr_gauss_newton, UpdateRule::adam, UpdateRule::gn_momentum}) {
    INFO(to_string(rule));
    const auto settings = paper_settings<double>(rule);
    RecordedOptimizer<double> recorder(settings);
    const V2 x0(-0.5, 0.6);
    recorder.reset(x0, quad(x0));
    recorder.tell_model(quad_grad(x0), rmpc::testing::quadratic_hessian());
    // Five trials, with a value above J(x) (rejected by the trust-region rules) in between.
    for (int k = 0; k < 5 && recorder.optimizer().status() == Status::running; ++k) {
      const V2 point = recorder.ask().point;
      const double J = (k == 2) ? quad(point) + 10.0 : quad(point);
      if (recorder.tell_value(J).accepted && recorder.optimizer().status() == Status::running)
        recorder.tell_model(quad_grad(recorder.optimizer().x()),
                            rmpc::testing::quadratic_hessian());
    }
    RecordedOptimizer<double> replayed(settings);
    replayed.replay(recorder.calls());
    const auto& a = recorder.optimizer();
    const auto& b = replayed.optimizer();
    CHECK(replayed.calls().size() == recorder.calls().size());
    CHECK((a.x().array() == b.x().array()).all());
    CHECK(a.value() == b.value());
    CHECK(a.status() == b.status());
    CHECK(a.iterations() == b.iterations());
    if (a.status() != Status::running) continue;
    CHECK((a.radius() == b.radius() || (std::isinf(a.radius()) && std::isinf(b.radius()))));
    // The next step, which depends on all of the rule's memory, is the same to the last bit.
    const V2 pa = recorder.ask().step, pb = replayed.ask().step;
    CHECK((pa.array() == pb.array()).all());
  }
}

TEST_CASE("RecordedOptimizer: call names round-trip; a record that does not fit is named",
          "[recorded_optimizer]") {
  using rmpc::testing::thrown_message;
  for (CallKind k : {CallKind::reset, CallKind::ask, CallKind::tell_model, CallKind::tell_value})
    CHECK(call_kind_from_string(to_string(k)) == k);
  CHECK(thrown_message([] { call_kind_from_string("tell"); }) ==
        "optim::call_kind_from_string: unknown call 'tell'");

  std::vector<OptimizerCall<double>> record(2);
  record[0].kind = CallKind::reset;
  record[0].vector = V2(1.0, 2.0);
  record[1].kind = CallKind::tell_model;
  record[1].vector = V2(0.5, 0.5);
  record[1].matrix = Eigen::Matrix3d::Identity();
  RecordedOptimizer<double, 2> opt(paper_settings<double>(UpdateRule::tr_qn));
  CHECK(thrown_message([&] { opt.replay(record); }) ==
        "RecordedOptimizer::replay: call 1 (tell_model) has a Hessian of the wrong size");
  record[0].vector = Eigen::Vector3d(1.0, 2.0, 3.0);
  RecordedOptimizer<double, 2> fresh(paper_settings<double>(UpdateRule::tr_qn));
  CHECK(thrown_message([&] { fresh.replay(record); }) ==
        "RecordedOptimizer::replay: call 0 (reset) has a vector of the wrong size");
  // A replay needs a fresh optimizer (call order: std::logic_error).
  CHECK(thrown_message<std::logic_error>([&] { opt.replay({}); }) ==
        "RecordedOptimizer::replay: the optimizer has calls already");
}
