// Catch2 v2/v3 shim: tests include this instead of a versioned Catch2 header.
#pragma once
#if defined(RMPC_CATCH2_V3)
#include <catch2/catch_all.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
