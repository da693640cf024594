// Exact first and second theta-derivatives of the user's model by forward-mode automatic
// differentiation (Eigen's AutoDiffScalar, nested once for the second order). Used once per
// theta, never per state: the condensed QP data are affine in the state (condensing.hpp).
//
//     Ad1 x:  x.value() = f,  x.derivatives()(i) = df/dtheta_i
//     Ad2 x:  x.value() = (f, df/dtheta) as Ad1,  x.derivatives()(i) = (df/dtheta_i, d2f/dtheta_i
//     dtheta_.)
//
// With dynamic NP a constant has an EMPTY derivative vector; readers below treat it as zero.
#pragma once

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

namespace rmpc::mpc {

template <typename Scalar, int NP>
struct AutoDiffTypes {
  using Ad1 = Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>;
  using Ad2 = Eigen::AutoDiffScalar<Eigen::Matrix<Ad1, NP, 1>>;
};

namespace detail {

/// theta_i with unit derivative e_i (first order).
template <typename Scalar, int NP, typename Derived>
void seed_first(const Eigen::MatrixBase<Derived>& theta,
                Eigen::Matrix<typename AutoDiffTypes<Scalar, NP>::Ad1, NP, 1>& out) {
  using Ad1 = typename AutoDiffTypes<Scalar, NP>::Ad1;
  const Eigen::Index np = theta.size();
  out.resize(np);
  for (Eigen::Index i = 0; i < np; ++i) out(i) = Ad1(theta(i), int(np), int(i));
}

/// theta_i with unit derivative e_i at both levels and a zero second derivative.
template <typename Scalar, int NP, typename Derived>
void seed_second(const Eigen::MatrixBase<Derived>& theta,
                 Eigen::Matrix<typename AutoDiffTypes<Scalar, NP>::Ad2, NP, 1>& out) {
  using Ad1 = typename AutoDiffTypes<Scalar, NP>::Ad1;
  using Der1 = Eigen::Matrix<Scalar, NP, 1>;
  using Der2 = Eigen::Matrix<Ad1, NP, 1>;
  const Eigen::Index np = theta.size();
  out.resize(np);
  for (Eigen::Index i = 0; i < np; ++i) {
    out(i).value() = Ad1(theta(i), int(np), int(i));
    Der2 der(np);
    for (Eigen::Index j = 0; j < np; ++j) der(j) = Ad1(Scalar(i == j ? 1 : 0), Der1::Zero(np));
    out(i).derivatives() = der;
  }
}

template <typename Scalar>
Scalar ad_value(const Scalar& x) {
  return x;
}
template <typename Scalar, int NP>
Scalar ad_value(const Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>& x) {
  return x.value();
}
template <typename Scalar, int NP>
Scalar ad_value(const Eigen::AutoDiffScalar<
                Eigen::Matrix<Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>, NP, 1>>& x) {
  return x.value().value();
}

/// d x / d theta_i (0 for an empty derivative vector).
template <typename Scalar, int NP>
Scalar ad_first(const Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>& x, Eigen::Index i) {
  return x.derivatives().size() > i ? x.derivatives()(i) : Scalar(0);
}
template <typename Scalar, int NP>
Scalar ad_first(const Eigen::AutoDiffScalar<
                    Eigen::Matrix<Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>, NP, 1>>& x,
                Eigen::Index i) {
  return x.value().derivatives().size() > i ? x.value().derivatives()(i) : Scalar(0);
}

/// d2 x / d theta_i d theta_j.
template <typename Scalar, int NP>
Scalar ad_second(const Eigen::AutoDiffScalar<
                     Eigen::Matrix<Eigen::AutoDiffScalar<Eigen::Matrix<Scalar, NP, 1>>, NP, 1>>& x,
                 Eigen::Index i, Eigen::Index j) {
  if (x.derivatives().size() <= i) return Scalar(0);
  const auto& di = x.derivatives()(i).derivatives();
  return di.size() > j ? di(j) : Scalar(0);
}

/// dst = values of src.
template <typename Src, typename Dst>
void take_value(const Src& src, Dst& dst) {
  dst.resize(src.rows(), src.cols());
  for (Eigen::Index c = 0; c < src.cols(); ++c)
    for (Eigen::Index r = 0; r < src.rows(); ++r) dst(r, c) = ad_value(src(r, c));
}

/// dst = d src / d theta_i. Returns whether it is nonzero.
template <typename Src, typename Dst>
bool take_first(const Src& src, Eigen::Index i, Dst& dst) {
  dst.resize(src.rows(), src.cols());
  for (Eigen::Index c = 0; c < src.cols(); ++c)
    for (Eigen::Index r = 0; r < src.rows(); ++r) dst(r, c) = ad_first(src(r, c), i);
  return !dst.isZero(0);
}

/// dst = d2 src / d theta_i d theta_j. Returns whether it is nonzero.
template <typename Src, typename Dst>
bool take_second(const Src& src, Eigen::Index i, Eigen::Index j, Dst& dst) {
  dst.resize(src.rows(), src.cols());
  for (Eigen::Index c = 0; c < src.cols(); ++c)
    for (Eigen::Index r = 0; r < src.rows(); ++r) dst(r, c) = ad_second(src(r, c), i, j);
  return !dst.isZero(0);
}

// Stands in for an LqMpc member that a lower MaxOrder does not need (no code is compiled for it).
struct NotCompiled {
  NotCompiled() = default;
  template <typename T>
  explicit NotCompiled(const T&) {}
};

}  // namespace detail
}  // namespace rmpc::mpc
