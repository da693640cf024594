// Compiles the umbrella header of an installed rmpc and touches Eigen through it; exit code
// 0 only if the QP types behave as documented in rmpc/qp/problem.hpp.
#include <rmpc/rmpc.hpp>

#include <Eigen/Core>

#include <cstdio>
#include <cstring>

int main() {
  rmpc::qp::Problem<double, 2, 1, 1> fixed;  // fixed sizes: resized on construction
  rmpc::qp::Problem<double> dynamic(3, 0, 2);
  const bool sizes_ok = fixed.num_variables() == 2 && fixed.num_equalities() == 1 &&
                        fixed.num_inequalities() == 1 && dynamic.num_variables() == 3 &&
                        dynamic.num_inequalities() == 2;
  const bool hard_by_default = !fixed.is_soft(0) && !dynamic.is_soft(1);

  const Eigen::Matrix2d H = Eigen::Matrix2d::Identity() * 2.0;
  fixed.H = H;
  const bool eigen_ok = fixed.H.trace() == 4.0;

  const bool status_ok =
      std::strcmp(rmpc::qp::to_string(rmpc::qp::Status::optimal), "optimal") == 0;

  if (!(sizes_ok && hard_by_default && eigen_ok && status_ok)) {
    std::printf("rmpc consumer: FAILED (sizes %d, hard %d, eigen %d, status %d)\n", sizes_ok,
                hard_by_default, eigen_ok, status_ok);
    return 1;
  }
  std::printf("rmpc consumer: OK (Eigen %d.%d.%d)\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION);
  return 0;
}
