// `--policy` mode of the linear_2d example: the paper's MPC policy at one state as JSON,
//   {"u0":..., "du0_dtheta":[8], "d2u0_dtheta2":[[8] x 8], "du0_ds":[2], "status":"..."}
// (method.md §2; the status is rmpc::mpc::to_string(PolicyStatus)).
#pragma once

#include "paper_model.hpp"

#include <Eigen/Core>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <ostream>

namespace linear_2d {

/// Evaluates pi_theta(s) with derivatives and prints it as one JSON object. Returns 0 when
/// the policy status is ok (or weakly_active), 1 otherwise (the JSON is printed either way).
inline int print_policy_json(const Eigen::Vector2d& s, const Eigen::Matrix<double, np, 1>& theta,
                             std::ostream& out = std::cout) {
  PaperMpc mpc(PaperModel{});
  mpc.set_parameters(theta);
  const auto& r = mpc.evaluate(s);
  const auto flags = out.flags();
  const auto precision = out.precision();
  out << std::setprecision(17);
  auto number = [&out](double v) {
    if (std::isfinite(v))
      out << v;
    else
      out << "null";
  };
  out << "{\"u0\":";
  number(r.u0(0));
  out << ",\"du0_dtheta\":[";
  for (int i = 0; i < np; ++i) {
    if (i) out << ",";
    number(r.du0_dtheta(0, i));
  }
  out << "],\"d2u0_dtheta2\":[";
  for (int i = 0; i < np; ++i) {
    out << (i ? ",[" : "[");
    for (int j = 0; j < np; ++j) {
      if (j) out << ",";
      number(r.d2u0_dtheta2(i, j));
    }
    out << "]";
  }
  out << "],\"du0_ds\":[";
  number(r.du0_ds(0, 0));
  out << ",";
  number(r.du0_ds(0, 1));
  out << "],\"status\":\"" << rmpc::mpc::to_string(r.status) << "\",\"qp_status\":\""
      << rmpc::qp::to_string(r.qp_status) << "\",\"cost\":";
  number(r.cost);
  out << "}\n";
  out.flags(flags);
  out.precision(precision);
  return (r.status == rmpc::mpc::PolicyStatus::ok ||
          r.status == rmpc::mpc::PolicyStatus::weakly_active)
             ? 0
             : 1;
}

}  // namespace linear_2d
