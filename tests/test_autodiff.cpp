// The nested AutoDiffScalar helpers of mpc/autodiff.hpp, which give LqMpc the exact first and
// second theta-derivatives of the user's model: seeding (seed_first / seed_second), the readers
// (ad_value, ad_first, ad_second; an EMPTY derivative vector of a dynamic-NP constant reads as
// zero) and the matrix readers take_value / take_first / take_second with their "nonzero"
// flags. Checked on a polynomial with hand-computed first and second derivatives, and on a
// transcendental function against its closed-form derivatives and central differences, for
// fixed and dynamic NP.
#include "rmpc/mpc/autodiff.hpp"

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <cmath>
#include <type_traits>
#include <utility>

namespace {
using Eigen::Index;
using rmpc::mpc::AutoDiffTypes;
using rmpc::mpc::detail::ad_first;
using rmpc::mpc::detail::ad_second;
using rmpc::mpc::detail::ad_value;
using rmpc::mpc::detail::seed_first;
using rmpc::mpc::detail::seed_second;
using rmpc::mpc::detail::take_first;
using rmpc::mpc::detail::take_second;
using rmpc::mpc::detail::take_value;

// f = t0^2 t1 + 3 t1^3 - 2 t0 + 5. At (1, 2): f = 29, df = (2 t0 t1 - 2, t0^2 + 9 t1^2) =
// (2, 37), d2f = [[2 t1, 2 t0], [2 t0, 18 t1]] = [[4, 2], [2, 36]].
template <typename T, int NP>
T polynomial(const Eigen::Matrix<T, NP, 1>& t) {
  return t(0) * t(0) * t(1) + T(3.0) * t(1) * t(1) * t(1) - T(2.0) * t(0) + T(5.0);
}

// g = exp(t0) sin(t1) + sqrt(t0 t1 + 2).
template <typename T, int NP>
T transcendental(const Eigen::Matrix<T, NP, 1>& t) {
  using std::exp;
  using std::sin;
  using std::sqrt;
  return exp(t(0)) * sin(t(1)) + sqrt(t(0) * t(1) + T(2.0));
}

struct Closed {
  double value;
  Eigen::Vector2d grad;
  Eigen::Matrix2d hess;
};

Closed transcendental_closed(double a, double b) {
  const double s = std::sqrt(a * b + 2), e = std::exp(a);
  Closed c;
  c.value = e * std::sin(b) + s;
  c.grad << e * std::sin(b) + b / (2 * s), e * std::cos(b) + a / (2 * s);
  // d/da (b / 2s) = -b^2 / (4 s^3); d/db (b / 2s) = 1/(2s) - a b / (4 s^3).
  c.hess << e * std::sin(b) - b * b / (4 * s * s * s),
      e * std::cos(b) + 1 / (2 * s) - a * b / (4 * s * s * s),
      e * std::cos(b) + 1 / (2 * s) - a * b / (4 * s * s * s),
      -e * std::sin(b) - a * a / (4 * s * s * s);
  return c;
}

// A 2 x 2 matrix of the parameters with a constant entry: [[t0 t1, t0], [7, t1^2]].
template <typename T, int NP>
Eigen::Matrix<T, 2, 2> matrix_of(const Eigen::Matrix<T, NP, 1>& t) {
  Eigen::Matrix<T, 2, 2> m;
  m(0, 0) = t(0) * t(1);
  m(0, 1) = t(0);
  m(1, 0) = T(7.0);
  m(1, 1) = t(1) * t(1);
  return m;
}

template <int NP>
void check_polynomial() {
  using Ad1 = typename AutoDiffTypes<double, NP>::Ad1;
  using Ad2 = typename AutoDiffTypes<double, NP>::Ad2;
  const Eigen::Vector2d theta(1.0, 2.0);
  Eigen::Matrix<Ad1, NP, 1> t1;
  seed_first<double, NP>(theta, t1);
  REQUIRE(t1.size() == 2);
  const Ad1 f1 = polynomial<Ad1, NP>(t1);
  CHECK(ad_value(f1) == 29.0);
  CHECK(ad_first(f1, 0) == 2.0);
  CHECK(ad_first(f1, 1) == 37.0);

  Eigen::Matrix<Ad2, NP, 1> t2;
  seed_second<double, NP>(theta, t2);
  REQUIRE(t2.size() == 2);
  const Ad2 f2 = polynomial<Ad2, NP>(t2);
  CHECK(ad_value(f2) == 29.0);
  CHECK(ad_first(f2, 0) == 2.0);
  CHECK(ad_first(f2, 1) == 37.0);
  CHECK(ad_second(f2, 0, 0) == 4.0);
  CHECK(ad_second(f2, 0, 1) == 2.0);
  CHECK(ad_second(f2, 1, 0) == 2.0);
  CHECK(ad_second(f2, 1, 1) == 36.0);
}
}  // namespace

TEST_CASE("AutoDiffTypes nest Ad1 inside Ad2", "[autodiff]") {
  using Types = AutoDiffTypes<double, 3>;
  static_assert(std::is_same_v<Types::Ad1, Eigen::AutoDiffScalar<Eigen::Vector3d>>);
  static_assert(std::is_same_v<Types::Ad2, Eigen::AutoDiffScalar<Eigen::Matrix<Types::Ad1, 3, 1>>>);
  static_assert(std::is_same_v<decltype(ad_value(std::declval<Types::Ad2>())), double>);
  static_assert(std::is_same_v<decltype(ad_value(1.5)), double>);
  CHECK(ad_value(1.5) == 1.5);
}

TEST_CASE("seeds are theta with unit first and zero second derivatives", "[autodiff]") {
  using Types = AutoDiffTypes<double, Eigen::Dynamic>;
  const Eigen::Vector3d theta(0.5, -1.0, 2.0);
  Eigen::Matrix<Types::Ad1, Eigen::Dynamic, 1> t1;
  seed_first<double, Eigen::Dynamic>(theta, t1);
  Eigen::Matrix<Types::Ad2, Eigen::Dynamic, 1> t2;
  seed_second<double, Eigen::Dynamic>(theta, t2);
  REQUIRE(t1.size() == 3);
  REQUIRE(t2.size() == 3);
  for (Index i = 0; i < 3; ++i) {
    CHECK(ad_value(t1(i)) == theta(i));
    CHECK(ad_value(t2(i)) == theta(i));
    for (Index j = 0; j < 3; ++j) {
      CHECK(ad_first(t1(i), j) == (i == j ? 1.0 : 0.0));
      CHECK(ad_first(t2(i), j) == (i == j ? 1.0 : 0.0));
      CHECK(ad_second(t2(i), j, 0) == 0.0);
      CHECK(ad_second(t2(i), j, 2) == 0.0);
    }
  }
}

TEST_CASE("a polynomial's derivatives equal the hand-computed ones (fixed and dynamic NP)",
          "[autodiff]") {
  check_polynomial<2>();
  check_polynomial<Eigen::Dynamic>();
}

TEST_CASE("a transcendental function matches closed forms and central differences", "[autodiff]") {
  using Types = AutoDiffTypes<double, Eigen::Dynamic>;
  const Eigen::Vector2d theta(0.3, 0.8);
  Eigen::Matrix<Types::Ad2, Eigen::Dynamic, 1> t2;
  seed_second<double, Eigen::Dynamic>(theta, t2);
  const Types::Ad2 g = transcendental<Types::Ad2, Eigen::Dynamic>(t2);
  const Closed c = transcendental_closed(theta(0), theta(1));
  CHECK(ad_value(g) == Approx(c.value).epsilon(1e-15));
  const auto f = [](const Eigen::Vector2d& t) { return transcendental<double, 2>(t); };
  const double h = 1e-5, h2 = 1e-4;
  for (Index i = 0; i < 2; ++i) {
    const Eigen::Vector2d ei = Eigen::Vector2d::Unit(i);
    CHECK(ad_first(g, i) == Approx(c.grad(i)).epsilon(1e-14));
    const double fd = (f(theta + h * ei) - f(theta - h * ei)) / (2 * h);
    CHECK(ad_first(g, i) == Approx(fd).epsilon(1e-9));
    for (Index j = 0; j < 2; ++j) {
      const Eigen::Vector2d ej = Eigen::Vector2d::Unit(j);
      CHECK(ad_second(g, i, j) == Approx(c.hess(i, j)).epsilon(1e-14));
      const double fd2 = (f(theta + h2 * ei + h2 * ej) - f(theta + h2 * ei - h2 * ej) -
                          f(theta - h2 * ei + h2 * ej) + f(theta - h2 * ei - h2 * ej)) /
                         (4 * h2 * h2);
      CHECK(ad_second(g, i, j) == Approx(fd2).epsilon(1e-6));
    }
  }
}

TEST_CASE("a dynamic-NP constant has an empty derivative vector that reads as zero", "[autodiff]") {
  using Types = AutoDiffTypes<double, Eigen::Dynamic>;
  const Types::Ad1 c1(4.0);
  const Types::Ad2 c2(4.0);
  CHECK(c1.derivatives().size() == 0);
  CHECK(c2.derivatives().size() == 0);
  CHECK(ad_value(c1) == 4.0);
  CHECK(ad_value(c2) == 4.0);
  CHECK(ad_first(c1, 0) == 0.0);
  CHECK(ad_first(c1, 5) == 0.0);
  CHECK(ad_first(c2, 1) == 0.0);
  CHECK(ad_second(c2, 1, 0) == 0.0);

  // An affine function of seeded parameters (with a constant factor): zero second derivatives.
  Eigen::Matrix<Types::Ad2, Eigen::Dynamic, 1> t2;
  seed_second<double, Eigen::Dynamic>(Eigen::Vector2d(1.0, 2.0), t2);
  const Types::Ad2 linear = Types::Ad2(3.0) * t2(0) + t2(1);
  CHECK(ad_first(linear, 0) == 3.0);
  CHECK(ad_first(linear, 1) == 1.0);
  CHECK(ad_second(linear, 0, 0) == 0.0);
  CHECK(ad_second(linear, 1, 1) == 0.0);
}

TEST_CASE("take_value, take_first and take_second read whole matrices", "[autodiff]") {
  using Types = AutoDiffTypes<double, Eigen::Dynamic>;
  const Eigen::Vector2d theta(1.5, -2.0);
  Eigen::Matrix<Types::Ad2, Eigen::Dynamic, 1> t2;
  seed_second<double, Eigen::Dynamic>(theta, t2);
  const Eigen::Matrix<Types::Ad2, 2, 2> m = matrix_of<Types::Ad2, Eigen::Dynamic>(t2);

  Eigen::MatrixXd value, d0, d1, d00, d01, d11;
  take_value(m, value);
  CHECK(value == (Eigen::MatrixXd(2, 2) << -3.0, 1.5, 7.0, 4.0).finished());
  // d/dt0 = [[t1, 1], [0, 0]], d/dt1 = [[t0, 0], [0, 2 t1]].
  CHECK(take_first(m, 0, d0));
  CHECK(d0 == (Eigen::MatrixXd(2, 2) << -2.0, 1.0, 0.0, 0.0).finished());
  CHECK(take_first(m, 1, d1));
  CHECK(d1 == (Eigen::MatrixXd(2, 2) << 1.5, 0.0, 0.0, -4.0).finished());
  // d2/dt0^2 = 0 (flag false), d2/dt0 dt1 = [[1, 0], [0, 0]], d2/dt1^2 = [[0, 0], [0, 2]].
  d00.setOnes(3, 3);
  CHECK_FALSE(take_second(m, 0, 0, d00));
  CHECK(d00 == Eigen::MatrixXd::Zero(2, 2));  // resized and overwritten
  CHECK(take_second(m, 0, 1, d01));
  CHECK(d01 == (Eigen::MatrixXd(2, 2) << 1.0, 0.0, 0.0, 0.0).finished());
  CHECK(take_second(m, 1, 1, d11));
  CHECK(d11 == (Eigen::MatrixXd(2, 2) << 0.0, 0.0, 0.0, 2.0).finished());

  // First order alone, fixed NP, into a fixed-size destination.
  using Fixed = AutoDiffTypes<double, 2>;
  Eigen::Matrix<Fixed::Ad1, 2, 1> t1;
  seed_first<double, 2>(theta, t1);
  const Eigen::Matrix<Fixed::Ad1, 2, 2> m1 = matrix_of<Fixed::Ad1, 2>(t1);
  Eigen::Matrix2d v1, f1;
  take_value(m1, v1);
  CHECK(v1 == value);
  CHECK(take_first(m1, 1, f1));
  CHECK(Eigen::MatrixXd(f1) == d1);

  // A constant matrix: every derivative is zero and flagged so.
  Eigen::Matrix<Types::Ad1, 2, 1> constant;
  constant << Types::Ad1(1.0), Types::Ad1(-1.0);
  Eigen::VectorXd dc;
  CHECK_FALSE(take_first(constant, 0, dc));
  CHECK(dc == Eigen::VectorXd::Zero(2));
}

TEST_CASE("detail::NotCompiled constructs from anything", "[autodiff]") {
  using rmpc::mpc::detail::NotCompiled;
  static_assert(std::is_default_constructible_v<NotCompiled>);
  static_assert(std::is_constructible_v<NotCompiled, const double&>);
  static_assert(std::is_constructible_v<NotCompiled, const Eigen::Vector2d&>);
  static_assert(!std::is_convertible_v<double, NotCompiled>);  // explicit only
  CHECK(std::is_empty_v<NotCompiled>);                         // a stand-in member holds nothing
}
