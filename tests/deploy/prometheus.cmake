# The Prometheus and Grafana files of deploy/ (deploy/prometheus/README.md).
#   lint.prometheus  promtool check config, check rules, test rules; every
#                    metric the rules and the dashboard name is one the code
#                    exports; the files' shape (test_prometheus_lint.py)
#   e2e.prometheus   a real Prometheus with deploy/prometheus/prometheus.yml
#                    scraping a short pipeline on the e2e stack
#                    (test_prometheus_e2e.sh)
# promtool and prometheus come with Debian's package prometheus
# (deploy/local/deps.sh); without them the tests fail, they never skip.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(PROMTOOL_PROGRAM promtool)

add_test(NAME lint.prometheus
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_prometheus_lint.py
          ${CMAKE_SOURCE_DIR} ${PROMTOOL_PROGRAM})
set_tests_properties(lint.prometheus PROPERTIES LABELS "lint" TIMEOUT 120)

# Registered as tests/e2e/CMakeLists.txt registers its own: the same stack
# fixture (its directory is ${CMAKE_BINARY_DIR}/e2e-stack there), one e2e
# test at a time.
if(CHISO_E2E)
  find_program(BASH_PROGRAM bash REQUIRED)
  add_test(NAME e2e.prometheus
    COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_prometheus_e2e.sh)
  set_tests_properties(e2e.prometheus PROPERTIES
    FIXTURES_REQUIRED e2e_stack
    RESOURCE_LOCK e2e_stack
    LABELS e2e
    TIMEOUT 300
    SKIP_RETURN_CODE 77
    ENVIRONMENT "CHISO_BUILD_DIR=${CMAKE_BINARY_DIR};CHISO_SOURCE_DIR=${CMAKE_SOURCE_DIR};CHISO_STACK_ENV=${CMAKE_BINARY_DIR}/e2e-stack/stack.env")
endif()
