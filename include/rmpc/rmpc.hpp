// Umbrella header: everything rmpc offers. One #include line per public header.
#pragma once

#include "rmpc/qp/problem.hpp"
