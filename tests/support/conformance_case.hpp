// Loader for the parametric QP conformance cases (format: tests/data/conformance/README.md):
// X(theta) = X0 + sum_i theta_i X1[i] + 1/2 sum_ij theta_i theta_j X2[i][j].
#pragma once

#include "rmpc/qp/derivatives.hpp"
#include "rmpc/qp/problem.hpp"

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::testing {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

/// One datum X with its parametric expansion.
struct ParametricDatum {
  MatrixXd x0;                            // rows x cols (vectors are cols == 1)
  std::vector<MatrixXd> x1;               // np
  std::vector<std::vector<MatrixXd>> x2;  // np x np, empty when affine

  MatrixXd value(const VectorXd& th) const {
    MatrixXd v = x0;
    for (Index i = 0; i < th.size(); ++i) v += th(i) * x1[size_t(i)];
    if (!x2.empty())
      for (Index i = 0; i < th.size(); ++i)
        for (Index j = 0; j < th.size(); ++j) v += 0.5 * th(i) * th(j) * x2[size_t(i)][size_t(j)];
    return v;
  }
  MatrixXd first(const VectorXd& th, Index i) const {
    MatrixXd v = x1[size_t(i)];
    if (!x2.empty())
      for (Index j = 0; j < th.size(); ++j)
        v += 0.5 * th(j) * (x2[size_t(i)][size_t(j)] + x2[size_t(j)][size_t(i)]);
    return v;
  }
  MatrixXd second(Index i, Index j) const {
    if (x2.empty()) return MatrixXd::Zero(x0.rows(), x0.cols());
    return 0.5 * (x2[size_t(i)][size_t(j)] + x2[size_t(j)][size_t(i)]);
  }
};

struct ConformanceCase {
  std::string name;
  Index n = 0, p = 0, m = 0, np = 0;
  VectorXd theta;
  std::string status;
  ParametricDatum H, g, A, b, C, d;
  bool has_expected = false;
  VectorXd z, y_eq, y_ineq;
  std::vector<int> active;
  MatrixXd dz_dtheta;                 // n x np
  std::vector<MatrixXd> d2z_dtheta2;  // n entries of np x np

  qp::Problem<double> problem_at(const VectorXd& th) const {
    qp::Problem<double> pr(n, p, m);
    pr.H = H.value(th);
    pr.g = g.value(th);
    if (p > 0) pr.A = A.value(th), pr.b = b.value(th);
    if (m > 0) pr.C = C.value(th), pr.d = d.value(th);
    return pr;
  }

  qp::ProblemDerivatives<double> derivatives_at(const VectorXd& th, bool second_order) const {
    qp::ProblemDerivatives<double> dx;
    dx.resize(np, n, p, m, second_order);
    for (Index i = 0; i < np; ++i) {
      dx.dH[size_t(i)] = H.first(th, i);
      dx.dg[size_t(i)] = g.first(th, i);
      if (p > 0) dx.dA[size_t(i)] = A.first(th, i), dx.db[size_t(i)] = b.first(th, i);
      if (m > 0) dx.dC[size_t(i)] = C.first(th, i), dx.dd[size_t(i)] = d.first(th, i);
      if (!second_order) continue;
      for (Index j = 0; j < np; ++j) {
        const size_t ij = size_t(i * np + j);
        dx.d2H[ij] = H.second(i, j);
        dx.d2g[ij] = g.second(i, j);
        if (p > 0) dx.d2A[ij] = A.second(i, j), dx.d2b[ij] = b.second(i, j);
        if (m > 0) dx.d2C[ij] = C.second(i, j), dx.d2d[ij] = d.second(i, j);
      }
    }
    return dx;
  }
};

namespace detail_json {
inline MatrixXd to_matrix(const nlohmann::json& j, Index rows, Index cols) {
  MatrixXd out(rows, cols);
  if (rows == 0 || cols == 0) return out;
  if (cols == 1 && !j.at(0).is_array()) {
    for (Index r = 0; r < rows; ++r) out(r, 0) = j.at(size_t(r)).get<double>();
    return out;
  }
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) out(r, c) = j.at(size_t(r)).at(size_t(c)).get<double>();
  return out;
}
inline ParametricDatum datum(const nlohmann::json& j, Index rows, Index cols, Index np) {
  ParametricDatum d;
  d.x0 = to_matrix(j.at("X0"), rows, cols);
  for (Index i = 0; i < np; ++i) d.x1.push_back(to_matrix(j.at("X1").at(size_t(i)), rows, cols));
  if (!j.at("X2").is_null())
    for (Index i = 0; i < np; ++i) {
      d.x2.emplace_back();
      for (Index k = 0; k < np; ++k)
        d.x2.back().push_back(to_matrix(j.at("X2").at(size_t(i)).at(size_t(k)), rows, cols));
    }
  return d;
}
}  // namespace detail_json

inline ConformanceCase load_case(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  const nlohmann::json j = nlohmann::json::parse(in);
  ConformanceCase c;
  c.name = j.at("name").get<std::string>();
  c.n = j.at("n").get<Index>();
  c.p = j.at("p").get<Index>();
  c.m = j.at("m").get<Index>();
  c.np = j.at("np").get<Index>();
  c.theta = detail_json::to_matrix(j.at("theta"), c.np, 1);
  c.status = j.at("status").get<std::string>();
  using detail_json::datum;
  c.H = datum(j.at("H"), c.n, c.n, c.np);
  c.g = datum(j.at("g"), c.n, 1, c.np);
  c.A = datum(j.at("A"), c.p, c.n, c.np);
  c.b = datum(j.at("b"), c.p, 1, c.np);
  c.C = datum(j.at("C"), c.m, c.n, c.np);
  c.d = datum(j.at("d"), c.m, 1, c.np);
  const auto& e = j.at("expected");
  if (!e.is_null()) {
    c.has_expected = true;
    c.z = detail_json::to_matrix(e.at("z"), c.n, 1);
    c.y_eq = detail_json::to_matrix(e.at("y_eq"), c.p, 1);
    c.y_ineq = detail_json::to_matrix(e.at("y_ineq"), c.m, 1);
    c.active = e.at("active").get<std::vector<int>>();
    if (e.contains("dz_dtheta") && !e.at("dz_dtheta").is_null())
      c.dz_dtheta = detail_json::to_matrix(e.at("dz_dtheta"), c.n, c.np);
    if (e.contains("d2z_dtheta2") && !e.at("d2z_dtheta2").is_null())
      for (Index k = 0; k < c.n; ++k)
        c.d2z_dtheta2.push_back(
            detail_json::to_matrix(e.at("d2z_dtheta2").at(size_t(k)), c.np, c.np));
  }
  return c;
}

}  // namespace rmpc::testing
