// The MPC's user-facing data and sizes (mpc/model.hpp): LqData's neutral defaults (zero model
// and cost, infinite bounds, hard rows) for double and AutoDiff scalars, LqSizes, the slack count
// soft_slack_count(), the condensed row order of CondensedRowLayout (hand-computed indices of a
// small case, and a walk in the documented order that must number rows 0..rows()-1 once each),
// CondensedSizes / condensed_rows, and the size helpers of detail (size_mul / size_add,
// assign_checked, resize_if_possible, is_model_for) that LqMpc's generic argument checks use.
#include "rmpc/mpc/autodiff.hpp"
#include "rmpc/mpc/model.hpp"

#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Core>

#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

namespace {
using Eigen::Index;
using rmpc::mpc::condensed_rows;
using rmpc::mpc::CondensedRowLayout;
using rmpc::mpc::CondensedSizes;
using rmpc::mpc::LqData;
using rmpc::mpc::LqSizes;
using rmpc::mpc::soft_slack_count;
using rmpc::testing::thrown_message;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr int Dyn = Eigen::Dynamic;

template <typename T, int NX, int NU, int NC>
void check_neutral(const LqData<T, NX, NU, NC>& d, Index nx, Index nu, Index nc) {
  const auto value = [](const T& x) { return rmpc::mpc::detail::ad_value(x); };
  const auto all = [&](const auto& m, Index rows, Index cols, double v) {
    if (m.rows() != rows || m.cols() != cols) return false;
    for (Index c = 0; c < cols; ++c)
      for (Index r = 0; r < rows; ++r)
        if (value(m(r, c)) != v) return false;
    return true;
  };
  CHECK(d.nx() == nx);
  CHECK(d.nu() == nu);
  CHECK(d.nc() == nc);
  CHECK(all(d.A, nx, nx, 0.0));
  CHECK(all(d.B, nx, nu, 0.0));
  CHECK(all(d.b, nx, 1, 0.0));
  CHECK(all(d.Q, nx, nx, 0.0));
  CHECK(all(d.q, nx, 1, 0.0));
  CHECK(all(d.R, nu, nu, 0.0));
  CHECK(all(d.r, nu, 1, 0.0));
  CHECK(all(d.P, nx, nx, 0.0));
  CHECK(all(d.p, nx, 1, 0.0));
  CHECK(all(d.u_lb, nu, 1, -inf));
  CHECK(all(d.u_ub, nu, 1, inf));
  CHECK(all(d.u_soft_weight, nu, 1, inf));
  CHECK(all(d.u_soft_quadratic, nu, 1, 0.0));
  CHECK(all(d.x_lb, nx, 1, -inf));
  CHECK(all(d.x_ub, nx, 1, inf));
  CHECK(all(d.x_soft_weight, nx, 1, inf));
  CHECK(all(d.x_soft_quadratic, nx, 1, 0.0));
  CHECK(all(d.E_x, nc, nx, 0.0));
  CHECK(all(d.E_u, nc, nu, 0.0));
  CHECK(all(d.e, nc, 1, inf));
  CHECK(all(d.e_soft_weight, nc, 1, inf));
  CHECK(all(d.e_soft_quadratic, nc, 1, 0.0));
}

// Every row of the layout in the documented order: input bounds (upper then lower block) per
// stage, state bounds per stage 1..N-1, general rows per stage, slack rows.
std::vector<Index> rows_in_documented_order(const CondensedRowLayout& l) {
  std::vector<Index> rows;
  for (Index k = 0; k < l.horizon; ++k) {
    for (Index i = 0; i < l.nu; ++i) rows.push_back(l.input_row(k, i, true));
    for (Index i = 0; i < l.nu; ++i) rows.push_back(l.input_row(k, i, false));
  }
  for (Index k = 1; k < l.horizon; ++k) {
    for (Index i = 0; i < l.nx; ++i) rows.push_back(l.state_row(k, i, true));
    for (Index i = 0; i < l.nx; ++i) rows.push_back(l.state_row(k, i, false));
  }
  for (Index k = 0; k < l.horizon; ++k)
    for (Index i = 0; i < l.nc; ++i) rows.push_back(l.general_row(k, i));
  for (Index s = 0; s < l.ns; ++s) rows.push_back(l.slack_row(s));
  return rows;
}

struct GoodModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 2, 1>& theta, LqData<T, 2, 1, 0>& out) const {
    out.A(0, 0) = theta(0);
  }
};
struct DoubleOnlyModel {
  void operator()(const Eigen::Matrix<double, 2, 1>& theta, LqData<double, 2, 1, 0>& out) const {
    out.A(0, 0) = theta(0);
  }
};
struct WrongSizeModel {  // nu = 2 where the MPC has nu = 1
  template <class T>
  void operator()(const Eigen::Matrix<T, 2, 1>& theta, LqData<T, 2, 2, 0>& out) const {
    out.A(0, 0) = theta(0);
  }
};
}  // namespace

TEST_CASE("LqData starts from neutral defaults: no model, no cost, no bounds", "[model]") {
  check_neutral(LqData<double, Dyn, Dyn, Dyn>(3, 2, 1), 3, 2, 1);
  check_neutral(LqData<double>(2, 1), 2, 1, 0);  // nc defaults to 0
  // NC defaults to a fixed 0 (no general rows), not Dynamic.
  static_assert(LqData<double>::MatrixCX::RowsAtCompileTime == 0);
  static_assert(LqData<double>::MatrixXX::RowsAtCompileTime == Dyn);
  check_neutral(LqData<double, 2, 1, 2>(), 2, 1, 2);
  check_neutral(LqData<double, 2, 1>(), 2, 1, 0);  // NC defaults to 0: fixed sizes throughout
  const LqData<double> empty;
  CHECK(empty.nx() == 0);
  CHECK(empty.nu() == 0);
  CHECK(empty.nc() == 0);
}

TEST_CASE("LqData::resize restores the neutral defaults at the new size", "[model]") {
  LqData<double, Dyn, Dyn, Dyn> d(2, 1, 1);
  d.A.setOnes();
  d.B.setOnes();
  d.Q.setIdentity();
  d.R.setIdentity();
  d.u_lb.setConstant(-1);
  d.u_ub.setConstant(1);
  d.u_soft_weight.setConstant(10);
  d.x_soft_quadratic.setConstant(2);
  d.e.setZero();
  d.resize(3, 2, 2);
  check_neutral(d, 3, 2, 2);
}

TEST_CASE("LqData sizes that contradict its compile-time sizes are named, never ignored",
          "[model]") {
  // NC defaults to a fixed 0: general rows need NC = Eigen::Dynamic (or their count). Eigen's
  // setZero(1, nx) on a 0-row matrix is silently ignored with its asserts off.
  CHECK(thrown_message([] { LqData<double> d(2, 1, 1); }) ==
        "LqData: nc = 1 but NC = 0 (NC defaults to 0; LqData<T, NX, NU, Eigen::Dynamic> for "
        "general rows)");
  CHECK(thrown_message([] { LqData<double, 2, 1> d(3, 1); }) == "LqData: nx = 3 but NX = 2");
  CHECK(thrown_message([] { LqData<double, 2, 1> d(2, 2); }) == "LqData: nu = 2 but NU = 1");
  CHECK(thrown_message([] { LqData<double> d(-1, 1); }) == "LqData: nx = -1 is negative");
  LqData<double, 2, 1, Eigen::Dynamic> rows(2, 1, 3);
  CHECK(rows.nc() == 3);
  CHECK_NOTHROW(LqData<double, 2, 1, 2>(2, 1, 2));
}

TEST_CASE("LqData defaults hold for the AutoDiff scalars the model is evaluated with", "[model]") {
  using Types = rmpc::mpc::AutoDiffTypes<double, 2>;
  check_neutral(LqData<Types::Ad1, 2, 1, 1>(), 2, 1, 1);
  check_neutral(LqData<Types::Ad2, Dyn, Dyn, Dyn>(2, 1, 1), 2, 1, 1);
}

TEST_CASE("LqSizes is all zero by default", "[model]") {
  const LqSizes s;
  CHECK(s.nx == 0);
  CHECK(s.nu == 0);
  CHECK(s.horizon == 0);
  CHECK(s.np == 0);
  CHECK(s.nc == 0);
  CHECK(s.ns == 0);
}

TEST_CASE("soft_slack_count: state slacks on x_1..x_{N-1}, inputs and rows on every stage",
          "[model]") {
  static_assert(soft_slack_count(5, 2, 1, 1) == 2 * 4 + (1 + 1) * 5);
  static_assert(soft_slack_count(3, 1) == 2);
  static_assert(soft_slack_count(4, 0, 1) == 4);
  static_assert(soft_slack_count(4, 0, 0, 3) == 12);
  static_assert(soft_slack_count(1, 2) == 0);  // N = 1: x_0 is the only bounded state
  CHECK(soft_slack_count(10, 2, 0, 0) == 18);
}

TEST_CASE("CondensedRowLayout numbers the rows of a small case as documented", "[model]") {
  // nx = 2, nu = 1, N = 3, nc = 1, ns = 2:
  //   rows 0..5 input bounds (stage k: upper 2k, lower 2k + 1),
  //   rows 6..13 state bounds of x_1, x_2 (upper x_1: 6, 7; lower x_1: 8, 9; x_2: 10..13),
  //   rows 14..16 general rows of stages 0..2, rows 17, 18 the slacks.
  constexpr CondensedRowLayout l{2, 1, 3, 1, 2};
  static_assert(l.rows() == 19);
  CHECK(l.input_rows() == 6);
  CHECK(l.state_rows() == 8);
  CHECK(l.general_rows() == 3);
  CHECK(l.constraint_rows() == 17);
  CHECK(l.input_row(0, 0, true) == 0);
  CHECK(l.input_row(0, 0, false) == 1);
  CHECK(l.input_row(2, 0, true) == 4);
  CHECK(l.input_row(2, 0, false) == 5);
  CHECK(l.state_row(1, 0, true) == 6);
  CHECK(l.state_row(1, 1, true) == 7);
  CHECK(l.state_row(1, 0, false) == 8);
  CHECK(l.state_row(1, 1, false) == 9);
  CHECK(l.state_row(2, 0, true) == 10);
  CHECK(l.state_row(2, 1, false) == 13);
  CHECK(l.general_row(0, 0) == 14);
  CHECK(l.general_row(2, 0) == 16);
  CHECK(l.slack_row(0) == 17);
  CHECK(l.slack_row(1) == 18);

  // Two inputs: the upper block of a stage precedes its lower block.
  constexpr CondensedRowLayout l2{1, 2, 2, 0, 0};
  CHECK(l2.input_row(0, 1, true) == 1);
  CHECK(l2.input_row(0, 0, false) == 2);
  CHECK(l2.input_row(1, 1, false) == 7);
  CHECK(l2.state_row(1, 0, false) == 9);
  CHECK(l2.rows() == 10);
}

TEST_CASE("CondensedRowLayout's documented order numbers every row once, consecutively",
          "[model]") {
  for (const CondensedRowLayout l :
       {CondensedRowLayout{2, 1, 3, 1, 2}, CondensedRowLayout{3, 2, 4, 2, 5},
        CondensedRowLayout{1, 1, 1, 0, 0}, CondensedRowLayout{4, 3, 2, 0, 0},
        CondensedRowLayout{2, 2, 5, 3, 0}}) {
    CAPTURE(l.nx, l.nu, l.horizon, l.nc, l.ns);
    const std::vector<Index> rows = rows_in_documented_order(l);
    REQUIRE(Index(rows.size()) == l.rows());
    for (size_t r = 0; r < rows.size(); ++r) CHECK(rows[r] == Index(r));
    CHECK(l.rows() == 2 * l.nu * l.horizon + 2 * l.nx * (l.horizon - 1) + l.nc * l.horizon + l.ns);
  }
}

TEST_CASE("CondensedSizes and condensed_rows agree with the layout", "[model]") {
  static_assert(CondensedSizes<2, 1, 3, 1, 2>::n == 3 * 1 + 2);
  static_assert(CondensedSizes<2, 1, 3, 1, 2>::m == 19);
  static_assert(CondensedSizes<2, 1, 3, 0>::n == 3);
  static_assert(CondensedSizes<2, 1, 3, 0>::m == 6 + 8);
  static_assert(CondensedSizes<3, 2, 4, 2, 5>::m == CondensedRowLayout{3, 2, 4, 2, 5}.rows());
  // Any dynamic size makes m dynamic; n only depends on N, NU and NS.
  static_assert(CondensedSizes<Dyn, 1, 3, 0>::n == 3);
  static_assert(CondensedSizes<Dyn, 1, 3, 0>::m == Dyn);
  static_assert(CondensedSizes<2, 1, 3, Dyn>::m == Dyn);
  static_assert(CondensedSizes<2, 1, 3, 0, Dyn>::n == Dyn);
  static_assert(CondensedSizes<2, 1, 3, 0, Dyn>::m == Dyn);
  static_assert(CondensedSizes<2, Dyn, 3, 0>::n == Dyn);
  static_assert(CondensedSizes<2, 1, Dyn, 0>::n == Dyn);
  CHECK(condensed_rows(2, 1, 3, 1, 2) == 19);
  CHECK(condensed_rows(2, 1, 3, 1) == 17);  // ns defaults to 0
  CHECK(condensed_rows(3, 2, 4, 2, 5) == CondensedRowLayout{3, 2, 4, 2, 5}.rows());
}

TEST_CASE("detail::size_mul and size_add stay Dynamic when an operand is", "[model]") {
  using rmpc::mpc::detail::size_add;
  using rmpc::mpc::detail::size_mul;
  static_assert(size_mul(3, 4) == 12);
  static_assert(size_add(3, 4) == 7);
  static_assert(size_mul(Dyn, 4) == Dyn);
  static_assert(size_mul(3, Dyn) == Dyn);
  static_assert(size_add(Dyn, 0) == Dyn);
  static_assert(size_add(0, Dyn) == Dyn);
  CHECK(size_mul(0, 5) == 0);
}

TEST_CASE("detail::assign_checked assigns compatible sizes and throws for contradicting ones",
          "[model]") {
  using rmpc::mpc::detail::assign_checked;
  const Eigen::Matrix2d src = (Eigen::Matrix2d() << 1, 2, 3, 4).finished();
  Eigen::MatrixXd dyn;
  assign_checked(dyn, src);
  CHECK(dyn == Eigen::MatrixXd(src));
  Eigen::Matrix2d fixed = Eigen::Matrix2d::Zero();
  assign_checked(fixed, Eigen::MatrixXd(src));
  CHECK(fixed == src);
  Eigen::MatrixXd big = Eigen::MatrixXd::Zero(3, 2);
  assign_checked(big.topRows(2), src);  // an rvalue block is written through
  CHECK(big.topRows(2) == Eigen::MatrixXd(src));
  CHECK(big.row(2).isZero(0));

  Eigen::Matrix3d wrong = Eigen::Matrix3d::Zero();
  CHECK(thrown_message([&] { assign_checked(wrong, src); }) ==
        "assign_checked: compile-time sizes differ");
  CHECK(wrong.isZero(0));
  Eigen::Matrix<double, 2, 3> wrong_cols = Eigen::Matrix<double, 2, 3>::Zero();
  CHECK(thrown_message([&] { assign_checked(wrong_cols, src); }) ==
        "assign_checked: compile-time sizes differ");
}

TEST_CASE("detail::resize_if_possible resizes what can take the size, leaves the rest", "[model]") {
  using rmpc::mpc::detail::resize_if_possible;
  Eigen::MatrixXd dyn(1, 1);
  resize_if_possible(dyn, 3, 2);
  CHECK((dyn.rows() == 3 && dyn.cols() == 2));

  Eigen::MatrixXd same = (Eigen::MatrixXd(2, 2) << 1, 2, 3, 4).finished();
  resize_if_possible(same, 2, 2);  // already that size: values kept
  CHECK(same == (Eigen::MatrixXd(2, 2) << 1, 2, 3, 4).finished());

  Eigen::Matrix2d fixed = Eigen::Matrix2d::Identity();
  resize_if_possible(fixed, 3, 3);  // cannot: left for the caller's size check
  CHECK(fixed == Eigen::Matrix2d::Identity());

  Eigen::Matrix<double, Dyn, 2> rows_only(1, 2);
  resize_if_possible(rows_only, 4, 2);
  CHECK(rows_only.rows() == 4);
  resize_if_possible(rows_only, 5, 3);  // 3 columns impossible: unchanged
  CHECK((rows_only.rows() == 4 && rows_only.cols() == 2));

  Eigen::VectorXd v(2);
  resize_if_possible(v, 5, 1);
  CHECK(v.size() == 5);

  Eigen::MatrixXd parent = Eigen::MatrixXd::Zero(4, 4);
  auto block = parent.topLeftCorner(2, 2);  // not a plain object: never resized
  resize_if_possible(block, 3, 3);
  CHECK((block.rows() == 2 && block.cols() == 2));
}

TEST_CASE("detail::is_model_for and model_function accept only a matching functor", "[model]") {
  using rmpc::mpc::detail::is_model_for;
  using Ad1 = rmpc::mpc::AutoDiffTypes<double, 2>::Ad1;
  static_assert(is_model_for<GoodModel, double, 2, 2, 1, 0>);
  static_assert(is_model_for<GoodModel, Ad1, 2, 2, 1, 0>);
  static_assert(is_model_for<DoubleOnlyModel, double, 2, 2, 1, 0>);
  static_assert(!is_model_for<DoubleOnlyModel, Ad1, 2, 2, 1, 0>);
  static_assert(!is_model_for<WrongSizeModel, double, 2, 2, 1, 0>);

  using Function = std::function<void(const Eigen::Vector2d&, LqData<double, 2, 1, 0>&)>;
  const Function good = rmpc::mpc::detail::model_function<Function>(GoodModel{});
  REQUIRE(good);
  LqData<double, 2, 1, 0> out;
  good(Eigen::Vector2d(0.7, 0.0), out);
  CHECK(out.A(0, 0) == 0.7);
  CHECK_FALSE(rmpc::mpc::detail::model_function<Function>(WrongSizeModel{}));
}
