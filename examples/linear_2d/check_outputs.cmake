# Checks the smoke run's results files: CSV with the '# key: value' settings header (rule,
# seed, rmpc version) and non-finite values spelled nan/inf (never null); JSON with the
# same settings record.   cmake -DCSV=<file> -DJSON=<file> -DVERSION=<x.y.z> -P check_outputs.cmake
file(READ "${CSV}" csv)
foreach(key "# program: linear_2d" "# rmpc_version: ${VERSION}\n" "# rule: TR-QN\n" "# method: tr-qn\n" "# seed: 0\n"
            "# iterations: 3\n" "# episodes: 4\n" "# sigma: " "# status: " "\niteration,exploration,batch_cost")
  string(FIND "${csv}" "${key}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${CSV}: no '${key}' in:\n${csv}")
  endif()
endforeach()
if(csv MATCHES "(^|,)null(,|\n)")
  message(FATAL_ERROR "${CSV}: a null field (non-finite values must be nan/inf):\n${csv}")
endif()
file(READ "${JSON}" json)
foreach(key "\"rmpc_version\": \"${VERSION}\"" "\"rule\": \"TR-QN\"" "\"method\": \"tr-qn\"" "\"seed\": 0"
            "\"settings\": {" "\"sigma\": ")
  string(FIND "${json}" "${key}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${JSON}: no '${key}' in:\n${json}")
  endif()
endforeach()
# Iteration 0 has no ratio test: its ratio is NaN in every run, so a nan field must be there.
if(NOT csv MATCHES ",nan,")
  message(FATAL_ERROR "${CSV}: no nan field (iteration 0's ratio is NaN):\n${csv}")
endif()
message(STATUS "${CSV} and ${JSON}: settings record present, NaN written as nan, no null")
