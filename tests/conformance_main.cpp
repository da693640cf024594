// rmpc_conformance [DIR]: solves every *.json case of DIR (format: the conformance README)
// at its theta and checks status, z, multipliers, active set, dz/dtheta and d2z/dtheta2.
// Prints "NAME PASS|FAIL" with the errors per case and closes with "N passed, M failed".
#include "support/conformance_case.hpp"

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// max over entries of |got - want| / max(1, |want|): the README's scaled absolute error.
double scaled_error(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) return INFINITY;
  double e = 0;
  for (Eigen::Index i = 0; i < want.size(); ++i)
    e = std::max(
        e, std::abs(got.data()[i] - want.data()[i]) / std::max(1.0, std::abs(want.data()[i])));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::path(RMPC_CONFORMANCE_DIR);
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  if (ec) {
    std::printf("cannot read directory %s: %s\n0 passed, 1 failed\n", dir.string().c_str(),
                ec.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  constexpr double tol_primal_dual = 1e-8, tol_first = 1e-6, tol_second = 1e-5;
  int passed = 0, failed = 0;
  for (const auto& file : files) {
    rmpc::testing::ConformanceCase c;
    try {
      c = rmpc::testing::load_case(file.string());
    } catch (const std::exception& ex) {
      std::printf("%s FAIL cannot parse: %s\n", file.filename().string().c_str(), ex.what());
      ++failed;
      continue;
    }
    rmpc::qp::DenseSolver<double> solver;
    const auto& res = solver.compute(c.problem_at(c.theta)).solve();
    std::string why;
    char buf[256];
    const std::string status = rmpc::qp::to_string(res.status);
    if (status != c.status) why += " status=" + status + " (expected " + c.status + ")";
    double ez = 0, ey = 0, ed1 = 0, ed2 = 0;
    if (why.empty() && c.has_expected) {
      ez = scaled_error(res.z, c.z);
      Eigen::VectorXd y(c.p + c.m), y_want(c.p + c.m);
      y << res.y_eq, res.y_ineq;
      y_want << c.y_eq, c.y_ineq;
      ey = scaled_error(y, y_want);
      std::vector<int> active;
      for (Eigen::Index i = 0; i < c.m; ++i)
        if (res.row_state(i) == rmpc::qp::RowState::active) active.push_back(int(i));
      if (active != c.active) why += " active set differs";
      if (!(ez <= tol_primal_dual)) why += " z";
      if (!(ey <= tol_primal_dual)) why += " y";
      const bool want_second = !c.d2z_dtheta2.empty();
      if (c.dz_dtheta.size() > 0) {
        rmpc::qp::Sensitivity<double> sens;
        rmpc::qp::SensitivitySettings<double> ss;
        ss.second_order = want_second;
        // A named object: Sensitivity reads the derivatives after compute() (no temporaries).
        const auto derivatives = c.derivatives_at(c.theta, want_second);
        sens.compute(solver, derivatives, ss);
        if (sens.info() != rmpc::qp::SensitivityStatus::ok)
          why += std::string(" sensitivity status=") + rmpc::qp::to_string(sens.info());
        ed1 = scaled_error(sens.dz_dtheta(), c.dz_dtheta);
        if (!(ed1 <= tol_first)) why += " dz_dtheta";
        if (want_second) {
          for (Eigen::Index i = 0; i < c.np; ++i)
            for (Eigen::Index j = 0; j < c.np; ++j) {
              Eigen::VectorXd want(c.n);
              for (Eigen::Index k = 0; k < c.n; ++k) want(k) = c.d2z_dtheta2[size_t(k)](i, j);
              ed2 = std::max(ed2, scaled_error(sens.d2z_dtheta2(i, j), want));
            }
          if (!(ed2 <= tol_second)) why += " d2z_dtheta2";
        }
      }
    }
    std::snprintf(buf, sizeof buf, " err_z=%.2e err_y=%.2e err_dz=%.2e err_d2z=%.2e iter=%d", ez,
                  ey, ed1, ed2, res.iterations);
    const bool ok = why.empty();
    std::printf("%s %s%s%s\n", c.name.c_str(), ok ? "PASS" : "FAIL", buf, why.c_str());
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
