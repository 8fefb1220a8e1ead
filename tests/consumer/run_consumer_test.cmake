# Installs alivpc into a temp prefix, then configures, builds and runs tests/consumer/project
# against it with find_package(alivpc). Fails if any step fails.
file(REMOVE_RECURSE ${WORK_DIR})
foreach(step
    "${CMAKE_COMMAND};-S;${SOURCE_DIR};-B;${WORK_DIR}/alivpc;-G;Ninja;-DALIVPC_BUILD_TESTS=OFF;-DALIVPC_BUILD_SIM=OFF;-DALIVPC_BUILD_EXAMPLES=OFF;-DALIVPC_BUILD_BENCH=OFF;-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix"
    "${CMAKE_COMMAND};--install;${WORK_DIR}/alivpc"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/tests/consumer/project;-B;${WORK_DIR}/consumer;-G;Ninja;-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/consumer"
    "${WORK_DIR}/consumer/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer step failed (${rc}): ${step}\n${out}\n${err}")
  endif()
endforeach()
if(NOT out MATCHES "^10\\.24\\.")
  message(FATAL_ERROR "consumer printed an unexpected subnet: ${out}")
endif()
message(STATUS "consumer built against the installed alivpc and printed ${out}")
