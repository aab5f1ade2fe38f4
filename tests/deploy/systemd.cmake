# lint.systemd: the units, user, example configuration files and install.sh
# of deploy/systemd, against the programs built here: systemd-analyze verify
# and security in a temporary root, the hardening directives, every
# configuration key against the programs' --help, install.sh's result
# (test_systemd.sh says what it checks). Needs the programs built, and root
# (skipped without).
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME lint.systemd
         COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_systemd.sh
                 --cmake ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR})
set_tests_properties(lint.systemd PROPERTIES LABELS "lint" TIMEOUT 180 SKIP_RETURN_CODE 77)
