// Must NOT compile: the model is written for double only, so LqMpc cannot evaluate it with
// AutoDiffScalar for the theta-derivatives. The compile_fail_not_template test checks that the
// error is LqMpc's one-sentence static_assert.
#include <rmpc/mpc/lq_mpc.hpp>

struct DoubleOnlyModel {
  void operator()(const Eigen::Vector3d& t, rmpc::mpc::LqData<double, 2, 1>& out) const {
    out.A << t(0), 0.1, 0.0, t(1);
    out.B << 0.0, 0.1;
    out.Q.setIdentity();
    out.R(0, 0) = 0.1;
    out.P = out.Q * t(2);
  }
};

int main() {
  rmpc::mpc::LqMpc<double, 2, 1, 5, 3> mpc(DoubleOnlyModel{});
  return mpc.sizes().nu == 1 ? 0 : 1;
}
