// qp::detail::WorkingSetFactor: the Goldfarb-Idnani factor J = L^{-T} Q, R of a working set.
// After every add() and remove() the invariants the solver and the sensitivities rely on are
// checked against independent computations: J'HJ = I, J'N = [R; 0] with R upper triangular
// and a nonnegative diagonal, add()'s return value the normal's distance from the span of the
// earlier ones in the H^{-1} metric (from a dense solve), and solve_hessian() = H^{-1} r.
// Both sizes of the small-n and large-n products (kTriangularFrom), the cold path (the first
// add after reset() writes J from J0) and the power-of-two scaling of huge and tiny normals.
#include "rmpc_catch.hpp"
#include "support/random_qp.hpp"

#include "rmpc/qp/detail/working_set.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using Factor = rmpc::qp::detail::WorkingSetFactor<double, Eigen::Dynamic>;

// dist^2 = n'H^{-1}n - b'(N'H^{-1}N)^{-1}b, b = N'H^{-1}n: the part of n outside span(N) in
// the H^{-1} metric, by dense LDLT and full-pivoting LU (nothing shared with the factor).
double distance(const MatrixXd& H, const MatrixXd& N, const VectorXd& normal) {
  const Eigen::LDLT<MatrixXd> h(H);
  const VectorXd hn = h.solve(normal);
  double d2 = normal.dot(hn);
  if (N.cols() > 0) {
    const MatrixXd G = N.transpose() * h.solve(N);
    const VectorXd b = N.transpose() * hn;
    d2 -= b.dot(G.fullPivLu().solve(b));
  }
  return std::sqrt(std::max(d2, 0.0));
}

void check_invariants(const Factor& f, const MatrixXd& H, const MatrixXd& N, double tol) {
  const Index n = H.rows(), q = N.cols();
  REQUIRE(f.size() == q);
  const MatrixXd& J = f.J();
  CHECK((J.transpose() * H * J - MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() <= tol);
  // J'N = [R; 0], columns in units of the normal's norm.
  for (Index k = 0; k < q; ++k) {
    const VectorXd c = J.transpose() * N.col(k) / N.col(k).stableNorm();
    for (Index i = 0; i < n; ++i) {
      const double expected = i <= k ? f.R()(i, k) / N.col(k).stableNorm() : 0.0;
      CHECK(std::abs(c(i) - expected) <= tol);
    }
    CHECK(f.R()(k, k) >= 0.0);
  }
}

MatrixXd conditioned_spd(std::mt19937_64& rng, Index n, double cond) {
  // Q diag(1 .. cond) Q' with a random orthogonal Q.
  const MatrixXd Q = rmpc::testing::random_matrix(rng, n, n).householderQr().householderQ();
  VectorXd ev(n);
  for (Index i = 0; i < n; ++i) ev(i) = std::pow(cond, double(i) / double(n - 1));
  MatrixXd H = Q * ev.asDiagonal() * Q.transpose();
  return 0.5 * (H + H.transpose());
}
}  // namespace

TEST_CASE("working-set factor: add and remove keep J'HJ = I and J'N = [R; 0]", "[qp][factor]") {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> nd;
  for (const Index n : {Index(12), Index(60)}) {  // both sides of kTriangularFrom (48)
    CAPTURE(n);
    const MatrixXd H = conditioned_spd(rng, n, 1e4);
    const Eigen::LLT<MatrixXd> llt(H);
    Factor f;
    f.set_hessian_factor(MatrixXd(llt.matrixL()), 1.0);
    // solve_hessian = H^{-1} r
    const VectorXd r = rmpc::testing::random_matrix(rng, n, 1);
    VectorXd x(n);
    f.solve_hessian(r, x);
    const VectorXd x_ref = H.ldlt().solve(r);
    CHECK((x - x_ref).cwiseAbs().maxCoeff() <= 1e-11 * x_ref.cwiseAbs().maxCoeff());

    for (int round = 0; round < 2; ++round) {  // round 1 starts again from reset()
      f.reset();
      std::vector<VectorXd> normals;
      const Index q_max = n / 2;
      for (Index k = 0; k < q_max; ++k) {
        VectorXd normal = VectorXd::Zero(n);
        if (k % 3 == 1) {
          normal(Index(rng() % std::uint64_t(n))) = k % 2 ? 2.5 : -1.0;  // a bound
        } else {
          for (Index j = 0; j < n; ++j) normal(j) = nd(rng);
        }
        MatrixXd N(n, Index(normals.size()));
        for (Index c = 0; c < N.cols(); ++c) N.col(c) = normals[size_t(c)];
        const double dist = distance(H, N, normal);
        if (dist < 1e-6 * normal.stableNorm()) continue;  // a repeated bound: dependent
        VectorXd d(n);
        f.rotate_normal(normal, d);
        const double got = f.add(d);
        CHECK(std::abs(got - dist) <= 1e-10 * dist);
        normals.push_back(normal);
        MatrixXd Nq(n, Index(normals.size()));
        for (Index c = 0; c < Nq.cols(); ++c) Nq.col(c) = normals[size_t(c)];
        check_invariants(f, H, Nq, 1e-11);
      }
      // Remove from the middle, then the first: R is re-triangularised by rotations.
      for (const Index k : {Index(normals.size() / 2), Index(0)}) {
        f.remove(k);
        normals.erase(normals.begin() + long(k));
        MatrixXd Nq(n, Index(normals.size()));
        for (Index c = 0; c < Nq.cols(); ++c) Nq.col(c) = normals[size_t(c)];
        check_invariants(f, H, Nq, 1e-11);
      }
    }
  }
}

TEST_CASE("working-set factor: huge and tiny normals are reflected accurately", "[qp][factor]") {
  // Normals of size 1e200 (their squares overflow) and 1e-300 (their squares underflow) take
  // the power-of-two scaled path; the factor must be the one of the unscaled normals.
  std::mt19937_64 rng(23);
  const Index n = 7;
  const MatrixXd H = conditioned_spd(rng, n, 1e2);
  Factor f;
  f.set_hessian_factor(MatrixXd(Eigen::LLT<MatrixXd>(H).matrixL()), 1.0);
  std::vector<VectorXd> normals;
  for (const double scale : {1e200, 1e-300, 1.0, 1e-300}) {
    const VectorXd normal = scale * rmpc::testing::random_matrix(rng, n, 1);
    MatrixXd N(n, Index(normals.size()));
    for (Index c = 0; c < N.cols(); ++c)
      N.col(c) = normals[size_t(c)] / normals[size_t(c)].stableNorm();
    const double dist = distance(H, N, normal / normal.stableNorm()) * normal.stableNorm();
    VectorXd d(n);
    f.rotate_normal(normal, d);
    const double got = f.add(d);
    CAPTURE(scale);
    CHECK(std::isfinite(got));
    CHECK(std::abs(got - dist) <= 1e-12 * dist);
    normals.push_back(normal);
    MatrixXd Nq(n, Index(normals.size()));
    for (Index c = 0; c < Nq.cols(); ++c) Nq.col(c) = normals[size_t(c)];
    check_invariants(f, H, Nq, 1e-13);
  }
}

TEST_CASE("working-set factor: a rotated normal with a tail below round-off", "[qp][factor]") {
  // In a closed loop of the paper's MPC a rotated bound came out as (0.047, -1.8e-178): the
  // tail's square underflowed to zero, the reflection's beta = 2 / |v|^2 was inf and J turned
  // NaN (the solve ended `inaccurate` with a NaN KKT residual). A tail whose square is
  // subnormal (1e-160) is the same kind. Such a tail is round-off: R(q,q) = |d2(0)|, J finite.
  const Index n = 4;
  for (const double tail : {1e-160, -1.8e-178}) {
    for (const double sign : {1.0, -1.0}) {
      for (const bool cold : {true, false}) {
        CAPTURE(tail, sign, cold);
        Factor f;
        f.set_hessian_factor(MatrixXd::Identity(n, n), 1.0);  // H = I: J0 = I, d = normal
        MatrixXd N(n, 0);
        if (!cold) {  // a first member, so that the tiny normal meets a reflected J
          VectorXd first(n);
          first << 0.0, 0.0, 1.0, 1.0;
          VectorXd d(n);
          f.rotate_normal(first, d);
          f.add(d);
          N = first;
        }
        VectorXd normal(n);
        normal << 0.047 * sign, tail, -0.3 * tail, 0.0;
        VectorXd d(n);
        f.rotate_normal(normal, d);
        const double got = f.add(d);
        CHECK(f.J().allFinite());
        CHECK(std::abs(got - 0.047) <= 1e-15);
        MatrixXd Nq(n, N.cols() + 1);
        Nq << N, normal;
        check_invariants(f, MatrixXd::Identity(n, n), Nq, 1e-15);
      }
    }
  }
}

TEST_CASE("working-set factor: a NaN in a rotated normal is passed on, not dropped",
          "[qp][factor]") {
  // NaN never meets ilogb (undefined for NaN) and never counts as a tail below round-off:
  // the factor turns NaN, which the solver's certificate then reports.
  const Index n = 4;
  for (const Index at : {Index(0), Index(2)}) {
    CAPTURE(at);
    Factor f;
    f.set_hessian_factor(MatrixXd::Identity(n, n), 1.0);
    VectorXd d(n);
    d << 1.0, 0.5, 0.25, 0.0;
    d(at) = std::numeric_limits<double>::quiet_NaN();
    f.add(d);
    CHECK_FALSE(f.J().allFinite());
  }
}
