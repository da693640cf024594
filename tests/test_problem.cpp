// The QP data types of qp/problem.hpp, without a solver: Status and its names, RowState's values,
// Problem's sizes and neutral data (every row hard), Settings' defaults and validate()'s named
// messages, Result's defaults. Solvers and sensitivities read these conventions (a row is soft
// iff its weight is finite, num_active() counts `active` rows only), so they are pinned here.
#include "rmpc/qp/problem.hpp"

#include "rmpc/qp/two_sided.hpp"
#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

namespace {
using rmpc::qp::Problem;
using rmpc::qp::Result;
using rmpc::qp::RowState;
using rmpc::qp::Settings;
using rmpc::qp::Status;
using rmpc::testing::thrown_message;

constexpr double inf = std::numeric_limits<double>::infinity();

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("qp::Status names every value by its enumerator", "[problem]") {
  CHECK(std::string(to_string(Status::optimal)) == "optimal");
  CHECK(std::string(to_string(Status::infeasible)) == "infeasible");
  CHECK(std::string(to_string(Status::max_iterations)) == "max_iterations");
  CHECK(std::string(to_string(Status::non_convex)) == "non_convex");
  CHECK(std::string(to_string(Status::invalid_input)) == "invalid_input");
  CHECK(std::string(to_string(Status::singular_hessian)) == "singular_hessian");
  CHECK(std::string(to_string(Status::inaccurate)) == "inaccurate");
  CHECK(std::string(to_string(static_cast<Status>(99))) == "unknown");
}

TEST_CASE("RowState values are the int8 codes stored in row_state", "[problem]") {
  static_assert(std::int8_t(RowState::inactive) == 0);
  static_assert(std::int8_t(RowState::active) == 1);
  static_assert(std::int8_t(RowState::saturated) == 2);
  CHECK(std::set<int>{RowState::inactive, RowState::active, RowState::saturated}.size() == 3);
}

TEST_CASE("Problem(n, p, m) sizes every block with zero data and hard rows", "[problem]") {
  Problem<double> qp(3, 1, 4);
  CHECK(qp.num_variables() == 3);
  CHECK(qp.num_equalities() == 1);
  CHECK(qp.num_inequalities() == 4);
  CHECK((qp.H.rows() == 3 && qp.H.cols() == 3));
  CHECK(qp.g.size() == 3);
  CHECK((qp.A.rows() == 1 && qp.A.cols() == 3));
  CHECK(qp.b.size() == 1);
  CHECK((qp.C.rows() == 4 && qp.C.cols() == 3));
  CHECK(qp.d.size() == 4);
  CHECK(qp.soft_weight.size() == 4);
  CHECK(qp.H.isZero(0));
  CHECK(qp.g.isZero(0));
  CHECK(qp.A.isZero(0));
  CHECK(qp.b.isZero(0));
  CHECK(qp.C.isZero(0));
  CHECK(qp.d.isZero(0));
  for (Eigen::Index i = 0; i < 4; ++i) {
    CHECK(qp.soft_weight(i) == inf);
    CHECK_FALSE(qp.is_soft(i));
  }
}

TEST_CASE("Sizes that contradict the compile-time sizes are named, never ignored", "[problem]") {
  // Eigen ignores a resize that contradicts a fixed size when its asserts are off.
  using rmpc::testing::thrown_message;
  CHECK(thrown_message([] { rmpc::qp::Problem<double, 2, 0, 1> q(3, 0, 1); }) ==
        "qp::Problem: n = 3 but N = 2");
  CHECK(thrown_message([] { rmpc::qp::Problem<double, 2, 0, 1> q(2, 1, 1); }) ==
        "qp::Problem: p = 1 but P = 0");
  CHECK(thrown_message([] { rmpc::qp::Problem<double, 2, 0, 1> q(2, 0, 2); }) ==
        "qp::Problem: m = 2 but M = 1");
  CHECK(thrown_message([] { rmpc::qp::Problem<double> q(2, -1, 0); }) ==
        "qp::Problem: p = -1 is negative");
  CHECK(thrown_message([] { rmpc::qp::TwoSidedProblem<double, 2> q(3, 0, 0); }) ==
        "qp::TwoSidedProblem: n = 3 but N = 2");
  CHECK(thrown_message([] { rmpc::qp::TwoSidedProblem<double> q(2, 0, -4); }) ==
        "qp::TwoSidedProblem: m = -4 is negative");
  CHECK_NOTHROW(rmpc::qp::Problem<double, 2, 0, 1>(2, 0, 1));
  CHECK_NOTHROW(rmpc::qp::TwoSidedProblem<double, 2>(2, 0, 5));
}

TEST_CASE("is_soft is true exactly for finite weights", "[problem]") {
  Problem<double> qp(2, 0, 4);
  qp.soft_weight << 1.5, inf, 0.0, 1e300;
  CHECK(qp.is_soft(0));
  CHECK_FALSE(qp.is_soft(1));
  CHECK(qp.is_soft(2));
  CHECK(qp.is_soft(3));
}

TEST_CASE("resize resets the data to zero and every row to hard", "[problem]") {
  Problem<double> qp(2, 1, 2);
  qp.H.setIdentity();
  qp.g.setOnes();
  qp.A.setOnes();
  qp.b.setOnes();
  qp.C.setOnes();
  qp.d.setOnes();
  qp.soft_weight.setConstant(2.0);
  qp.resize(4, 0, 3);
  CHECK(qp.num_variables() == 4);
  CHECK(qp.num_equalities() == 0);
  CHECK(qp.num_inequalities() == 3);
  CHECK((qp.A.rows() == 0 && qp.A.cols() == 4));
  CHECK((qp.C.rows() == 3 && qp.C.cols() == 4));
  CHECK(qp.H.isZero(0));
  CHECK(qp.g.isZero(0));
  CHECK(qp.C.isZero(0));
  CHECK(qp.d.isZero(0));
  CHECK((qp.soft_weight.array() == inf).all());
}

TEST_CASE("fixed-size Problem is sized by its default constructor", "[problem]") {
  using Fixed = Problem<double, 3, 1, 2>;
  static_assert(Fixed::n_at_compile_time == 3);
  static_assert(Fixed::p_at_compile_time == 1);
  static_assert(Fixed::m_at_compile_time == 2);
  static_assert(Fixed::MatrixC::RowsAtCompileTime == 2 && Fixed::MatrixC::ColsAtCompileTime == 3);
  Fixed qp;
  CHECK(qp.num_variables() == 3);
  CHECK(qp.num_equalities() == 1);
  CHECK(qp.num_inequalities() == 2);
  CHECK(qp.H.isZero(0));
  CHECK((qp.soft_weight.array() == inf).all());

  // A dynamic default-constructed problem is empty; mixed sizes are left for resize().
  Problem<double> empty;
  CHECK(empty.num_variables() == 0);
  CHECK(empty.num_inequalities() == 0);
  static_assert(Problem<double>::n_at_compile_time == Eigen::Dynamic);
  Problem<double, 2> mixed(2, 1, 3);
  CHECK(mixed.num_equalities() == 1);
  CHECK(mixed.num_inequalities() == 3);
}

TEST_CASE("Settings defaults are valid and scale with the scalar's epsilon",
          "[problem][settings]") {
  const Settings<double> s;
  CHECK_NOTHROW(s.validate());
  CHECK(s.max_iterations == 0);
  CHECK(s.feasibility_tolerance == 64 * std::numeric_limits<double>::epsilon());
  CHECK(s.certificate_tolerance == 1e4 * std::numeric_limits<double>::epsilon());
  CHECK(s.dependency_tolerance == 1e5 * std::numeric_limits<double>::epsilon());
  CHECK(s.refine);
  CHECK(s.check_input);
  const Settings<float> f;
  CHECK_NOTHROW(f.validate());
  CHECK(f.feasibility_tolerance == 64 * std::numeric_limits<float>::epsilon());
  CHECK(f.certificate_tolerance < 1.0f);
}

TEST_CASE("Settings::validate names the field, its rule and the value", "[problem][settings]") {
  Settings<double> s;
  s.max_iterations = -1;
  CHECK(thrown_message([&] { s.validate(); }) ==
        "qp::Settings::max_iterations must be >= 0 (0: automatic) (got -1)");
  s = Settings<double>();
  s.feasibility_tolerance = 1.0;
  std::string m = thrown_message([&] { s.validate(); });
  CHECK(contains(m, "qp::Settings::feasibility_tolerance must be in [0, 1)"));
  CHECK(contains(m, "(got 1)"));
  s.feasibility_tolerance = 0.0;  // the closed end of [0, 1)
  CHECK_NOTHROW(s.validate());

  s = Settings<double>();
  s.certificate_tolerance = 0.0;  // (0, 1): zero is out
  m = thrown_message([&] { s.validate(); });
  CHECK(contains(m, "qp::Settings::certificate_tolerance must be in (0, 1)"));
  s.certificate_tolerance = std::nan("");
  CHECK(contains(thrown_message([&] { s.validate(); }), "qp::Settings::certificate_tolerance"));

  s = Settings<double>();
  s.dependency_tolerance = -1e-3;
  m = thrown_message([&] { s.validate(); });
  CHECK(contains(m, "qp::Settings::dependency_tolerance must be in [0, 1)"));
  CHECK(contains(m, "(got -0.001)"));
  s.dependency_tolerance = 0.0;
  CHECK_NOTHROW(s.validate());

  // The first field out of range is the one named.
  s.max_iterations = -5;
  s.feasibility_tolerance = 2.0;
  CHECK(contains(thrown_message([&] { s.validate(); }), "qp::Settings::max_iterations"));
}

TEST_CASE("Result starts invalid; ok() and num_active() read status and row_state", "[problem]") {
  Result<double> r;
  CHECK(r.status == Status::invalid_input);
  CHECK_FALSE(r.ok());
  CHECK(r.objective == 0.0);
  CHECK(r.iterations == 0);
  CHECK(r.message.empty());
  CHECK(r.num_active() == 0);

  r.row_state.resize(5);
  r.row_state << RowState::active, RowState::saturated, RowState::inactive, RowState::active,
      RowState::saturated;
  CHECK(r.num_active() == 2);  // saturated rows are not counted as active
  r.status = Status::optimal;
  CHECK(r.ok());
  r.status = Status::inaccurate;
  CHECK_FALSE(r.ok());

  Result<double, 2, 0, 3> fixed;
  CHECK(fixed.row_state.size() == 3);
  fixed.row_state.setConstant(std::int8_t(RowState::active));
  CHECK(fixed.num_active() == 3);
}
