# lint.kubernetes: the manifests and the Dockerfile of deploy/kubernetes
# against the built programs' option tables, and against themselves
# (test_kubernetes.py says what it checks). Needs the programs built.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME lint.kubernetes
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_kubernetes.py
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(lint.kubernetes PROPERTIES LABELS "lint")
